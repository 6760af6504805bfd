import { describe, expect, it } from 'vitest';
import { reasonDetail, reasonInWords, strategyOption } from './strategies';

describe('reasonInWords', () => {
  it('says why in plain words, never a bare score', () => {
    const typical = { strategy: 'typical', cluster: 3, cluster_size: 42, typicality: 9.978 };
    expect(reasonInWords(typical)).toBe('Typical of a large group (42 images) not yet labeled');
    expect(reasonInWords(typical)).not.toContain('9.978');
    expect(reasonInWords({ strategy: 'margin', margin: 0.05, top_probability: 0.51 })).toBe(
      'The model hesitates between two classes (top guess 51% sure)',
    );
    expect(reasonInWords({ strategy: 'k_center', distance: 2.1 })).toBe('Unlike every image labeled so far');
    expect(reasonInWords({ strategy: 'something_new' })).toBe('Picked by something new');
  });

  it('keeps the scores as a detail', () => {
    expect(reasonDetail({ strategy: 'typical', typicality: 9.9784 })).toBe('strategy: typical, typicality: 9.978');
  });
});

describe('strategyOption', () => {
  it('leads with plain words and keeps the research name in brackets', () => {
    expect(strategyOption('cold_start')).toBe('Typical images of each group (TypiClust)');
    expect(strategyOption('k_center')).toBe('Images unlike anything labeled (k-center greedy)');
  });
});
