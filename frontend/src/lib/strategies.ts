// Selection strategies and suggestion reasons in plain words; the research names stay as details.
import type { SuggestStrategy } from './api';

export interface StrategyWords {
  /** What it picks, in plain words (the menu's text). */
  plain: string;
  /** The research name and method (the option's title, and in brackets after the plain words). */
  research: string;
}

export const STRATEGY_WORDS: Record<SuggestStrategy, StrategyWords> = {
  auto: { plain: 'Best next images (recommended)', research: 'auto: typical images first, then uncertain and varied ones' },
  random: { plain: 'Any images, at random', research: 'random sample (baseline)' },
  cold_start: { plain: 'Typical images of each group', research: 'TypiClust: the most typical image of each cluster' },
  probcover: { plain: 'Images that stand for many others', research: 'ProbCover: covers the most unlabeled neighbours' },
  k_center: { plain: 'Images unlike anything labeled', research: 'k-center greedy: farthest from every labeled image' },
  margin: { plain: 'Images the model hesitates between two classes on', research: 'margin: smallest gap between the top two classes' },
  least_confidence: { plain: 'Images the model is least sure of', research: 'least confidence: lowest top probability' },
  entropy: { plain: 'Images the model finds most confusing', research: 'entropy: most spread-out predictions' },
  hybrid: { plain: 'Unsure and varied images', research: 'hybrid: uncertain images spread over clusters and classes' },
};

/** A menu option's text: plain words, then the research name as a detail. */
export function strategyOption(s: SuggestStrategy): string {
  const w = STRATEGY_WORDS[s];
  return `${w.plain} (${w.research.split(':')[0]})`;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const pct = (x: number) => `${Math.round(x * 100)}%`;

/** Why an image was suggested, in words a person reads at a glance (the scores stay in the API). */
export function reasonInWords(reason: Record<string, unknown>): string {
  const strategy = typeof reason['strategy'] === 'string' ? reason['strategy'] : '';
  const top = num(reason['top_probability']);
  switch (strategy) {
    case 'typical': {
      const size = num(reason['cluster_size']);
      const group = size === null ? 'a group' : size >= 20 ? `a large group (${size} images)` : `a group of ${size} images`;
      return `Typical of ${group} not yet labeled`;
    }
    case 'probcover':
      return 'Stands for many similar unlabeled images';
    case 'k_center':
      return reason['start'] === 'random' ? 'A random first pick' : 'Unlike every image labeled so far';
    case 'random':
      return 'Picked at random';
    case 'margin':
      return `The model hesitates between two classes${top === null ? '' : ` (top guess ${pct(top)} sure)`}`;
    case 'least_confidence':
    case 'entropy':
      return `The model is unsure${top === null ? '' : ` (top guess only ${pct(top)} sure)`}`;
    case 'hybrid': {
      const labels = num(reason['class_labels']);
      return `The model is unsure, in a group not yet labeled${labels === null ? '' : `; its likely class has ${labels} labels`}`;
    }
    default:
      return strategy ? `Picked by ${strategy.replace(/_/g, ' ')}` : 'Suggested';
  }
}

/** The research detail of a reason (strategy and scores), for a tooltip. */
export function reasonDetail(reason: Record<string, unknown>): string {
  return Object.entries(reason)
    .map(([k, v]) => `${k.replace(/_/g, ' ')}: ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(3) : String(v)}`)
    .join(', ');
}

/** A strategy the API names (possibly one `auto` chose) in plain words; an unknown name is shown as it is. */
export function strategyName(s: string): string {
  return s in STRATEGY_WORDS ? STRATEGY_WORDS[s as SuggestStrategy].plain : s.replace(/_/g, ' ');
}
