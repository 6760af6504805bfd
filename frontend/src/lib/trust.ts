// The model's state in plain words: what pretraining did to the features, and how far the classifier is
// above guessing. The verdict itself (trustworthy or not) comes from the API; this only words it.

import type { Trust } from './api';
import { pct } from './format';

export interface PretrainOutcome {
  /** 'pretrained': the trained network shipped; 'initial': the starting network was kept. */
  kept: 'pretrained' | 'initial';
  headline: string;
  detail: string;
}

const STARTS: Record<string, string> = {
  random: 'an untrained, randomly initialised network: similar images and the map follow colours and simple patterns rather than what the images show. Pretrain longer (more epochs or a time budget), or start from pretrained weights',
  'weights file': 'the pretrained weights file, unchanged',
  'state dict': 'the previous backbone, unchanged',
};

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/**
 * The outcome of a pretraining from its job result or the model's `pretraining` (both carry `kept`, `start`
 * and `reason`); null when it does not say (a job still running, or no pretraining on record).
 */
export function pretrainOutcome(result: Record<string, unknown> | null | undefined): PretrainOutcome | null {
  const kept = result?.['kept'];
  const reason = text(result?.['reason']);
  if (kept === 'initial') {
    const start = text(result?.['start']);
    const features = (start && STARTS[start]) ?? 'the starting network, unchanged';
    return {
      kept,
      headline: `Pretraining did not improve the features: the starting network was kept because the label-free quality check found it at least as good${reason ? ` (${reason})` : ''}.`,
      detail: `The features are those of ${features}.`,
    };
  }
  if (kept === 'pretrained') {
    const checked = reason && reason !== 'no guard';
    return {
      kept,
      headline: checked
        ? `Pretraining improved the features: the label-free quality check preferred the trained network (${reason}).`
        : 'Pretraining trained the features (no quality check compared them with the starting network).',
      detail: "Whether they separate your classes shows in the classifier's accuracy against chance (Model page).",
    };
  }
  return null;
}

/** "72.0%: 38.7 points above the most common class (33.3%) and 38.7 above chance (33.3%)", or null. */
export function aboveBaselines(accuracy: number | null | undefined, trust: Trust): string | null {
  if (accuracy === null || accuracy === undefined || trust.chance === null || trust.majority_baseline === null) return null;
  const points = (base: number) => {
    const d = (accuracy - base) * 100;
    return `${Math.abs(d).toFixed(1)} points ${d >= 0 ? 'above' : 'below'}`;
  };
  return (
    `${pct(accuracy)} cross-validated: ${points(trust.majority_baseline)} the most common class ` +
    `(${pct(trust.majority_baseline)}) and ${points(trust.chance)} chance (${pct(trust.chance)})`
  );
}

/** The headline of the classifier's verdict: the guesses are held back from the review aids unless trusted. */
export function trustHeadline(trust: Trust, accuracy: number | null | undefined): string {
  if (trust.trustworthy) return 'The classifier does better than guessing.';
  if (trust.chance === null || accuracy === null || accuracy === undefined) return 'No trustworthy classifier yet.';
  const hold = 'do not rely on its guesses; review suggestions are held back until it is.';
  if (accuracy <= trust.chance) return `The classifier is not better than chance: ${hold}`;
  return `The classifier is not reliably better than always answering the most common class: ${hold}`;
}
