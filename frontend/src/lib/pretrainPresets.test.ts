import { describe, expect, it } from 'vitest';
import { budget, estimate } from './pretrainPresets';

describe('pretraining presets', () => {
  it('asks for the preset time budget, or the custom epochs before custom minutes', () => {
    expect(budget('quick', null, null)).toEqual({ time_budget_s: 300 });
    expect(budget('thorough', 3, 7)).toEqual({ time_budget_s: 3600 });
    expect(budget('custom', 2, 7)).toEqual({ epochs: 7 });
    expect(budget('custom', 2, null)).toEqual({ time_budget_s: 120 });
    expect(budget('custom', null, null)).toEqual({});
  });

  it('estimates epochs from the last speed, and says when it cannot', () => {
    expect(estimate({ time_budget_s: 1200 }, 500, null)).toContain('About 20m 00s of training');
    expect(estimate({ epochs: 10 }, 600, 100)).toContain('About 1m 00s of training: 10 passes over 600 images');
    expect(estimate({ epochs: 1 }, 12, null)).toContain('1 pass over 12 images; how long each takes is measured');
  });
});
