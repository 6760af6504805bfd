import { describe, expect, it } from 'vitest';
import type { Trust } from './api';
import { aboveBaselines, pretrainOutcome, trustHeadline } from './trust';

const untrusted: Trust = {
  trustworthy: false,
  reason: 'no better than chance: 4.1% cross-validated against 10.0% for guessing',
  chance: 0.1,
  majority_baseline: 0.274,
  n_scored: 73,
  p_value: 1,
  folds_warning: 'only 2 folds',
};

describe('pretraining outcome in words', () => {
  it('says when the starting network was kept, and why', () => {
    const reason = 'view-consistency (shared 10-NN between augmented views) did not improve: 0.310 before, 0.250 after';
    const outcome = pretrainOutcome({ kept: 'initial', start: 'random', reason, backbone_version: 2 });
    expect(outcome?.kept).toBe('initial');
    expect(outcome?.headline).toBe(
      `Pretraining did not improve the features: the starting network was kept because the label-free quality check found it at least as good (${reason}).`,
    );
    expect(outcome?.detail).toContain('untrained, randomly initialised network');
    expect(pretrainOutcome({ kept: 'initial', start: 'state dict', reason })?.detail).toContain('previous backbone');
  });

  it('says when pretraining improved the features, and nothing before a result', () => {
    expect(pretrainOutcome({ kept: 'pretrained', reason: 'view-consistency improved: 0.2 before, 0.4 after' })?.headline).toMatch(
      /^Pretraining improved the features/,
    );
    expect(pretrainOutcome({ kept: 'pretrained', reason: 'no guard' })?.headline).toContain('no quality check');
    expect(pretrainOutcome(null)).toBeNull();
    expect(pretrainOutcome({ epochs: 3 })).toBeNull();
  });
});

describe('classifier against guessing', () => {
  it('measures the accuracy against the majority class and chance', () => {
    expect(aboveBaselines(0.041, untrusted)).toBe(
      '4.1% cross-validated: 23.3 points below the most common class (27.4%) and 5.9 points below chance (10.0%)',
    );
    expect(aboveBaselines(null, untrusted)).toBeNull();
  });

  it('headlines a model below chance, below the majority class, or trusted', () => {
    expect(trustHeadline(untrusted, 0.041)).toMatch(/^The classifier is not better than chance/);
    expect(trustHeadline(untrusted, 0.2)).toMatch(/^The classifier is not reliably better than always answering/);
    expect(trustHeadline({ ...untrusted, trustworthy: true }, 0.9)).toBe('The classifier does better than guessing.');
    expect(trustHeadline({ ...untrusted, chance: null, majority_baseline: null }, null)).toBe('No trustworthy classifier yet.');
  });
});
