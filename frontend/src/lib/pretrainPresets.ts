/** Pretraining presets named by time and purpose, the start choices, and the estimate shown before starting. */

import { duration } from './format';

export type PresetId = 'quick' | 'standard' | 'thorough' | 'custom';
export type StartChoice = 'auto' | 'scratch' | 'previous';

export interface Preset {
  id: PresetId;
  name: string;
  minutes: number | null;
  purpose: string;
}

export const PRESETS: Preset[] = [
  { id: 'quick', name: 'Quick look — 5 min', minutes: 5, purpose: 'A first pass: enough to see whether the map and suggestions improve.' },
  { id: 'standard', name: 'Standard — 20 min', minutes: 20, purpose: 'A good default for a few hundred to a few thousand images.' },
  { id: 'thorough', name: 'Thorough — 60 min', minutes: 60, purpose: 'For large or unusual image sets (microscopy, satellite, drawings): the best features.' },
  { id: 'custom', name: 'Custom', minutes: null, purpose: 'Set the minutes or the number of passes over the images (epochs) yourself.' },
];

export const STARTS: { id: StartChoice; name: string; help: string }[] = [
  {
    id: 'auto',
    name: 'Pretrained weights (recommended)',
    help: 'Start from a network already trained on ImageNet photos, when the server has its weights (else from scratch).',
  },
  { id: 'scratch', name: 'From scratch', help: 'Start from a random network: slower to become useful; for images unlike photos.' },
  { id: 'previous', name: 'Continue the current backbone', help: 'Train the backbone in use further, e.g. after adding many images.' },
];

/** The request's budget: seconds for a timed preset or custom minutes; epochs only for custom epochs. */
export function budget(preset: PresetId, customMinutes: number | null, customEpochs: number | null): { time_budget_s?: number; epochs?: number } {
  const chosen = PRESETS.find((p) => p.id === preset);
  if (chosen?.minutes) return { time_budget_s: chosen.minutes * 60 };
  if (customEpochs !== null && customEpochs > 0) return { epochs: Math.round(customEpochs) };
  if (customMinutes !== null && customMinutes > 0) return { time_budget_s: Math.max(10, Math.round(customMinutes * 60)) };
  return {};
}

/**
 * The estimate before starting, in words. A time budget is the estimate itself; a number of epochs is
 * timed from the speed of this project's last pretraining (images per second) when there is one.
 */
export function estimate(request: { time_budget_s?: number; epochs?: number }, images: number, imagesPerS: number | null): string {
  const then = 'then an embedding job makes the new features usable (its progress shows on the Jobs page)';
  if (request.time_budget_s !== undefined) {
    return `About ${duration(request.time_budget_s)} of training (the epochs are planned to fit), ${then}.`;
  }
  if (request.epochs !== undefined) {
    if (imagesPerS && imagesPerS > 0 && images > 0) {
      const seconds = (request.epochs * images) / imagesPerS;
      return `About ${duration(seconds)} of training: ${request.epochs} passes over ${images} images at the ${imagesPerS.toFixed(1)} images/s of the last pretraining, ${then}.`;
    }
    return `${request.epochs} ${request.epochs === 1 ? 'pass' : 'passes'} over ${images} images; how long each takes is measured once it starts (the Jobs page shows the remaining time), ${then}.`;
  }
  return `The server's preset length for ${images} images, ${then}.`;
}
