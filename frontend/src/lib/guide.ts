// The first-run guide: grouped navigation and a "Next steps" checklist that ticks itself from the project's state.
import type { Job, ModelInfo, Project } from './api';
import type { ProjectTab } from './routes';

export interface NavGroup {
  name: string;
  tabs: readonly ProjectTab[];
}

/** The project's pages in groups, in the order work goes: data in, labels, the model, and the jobs behind them. */
export const NAV_GROUPS: readonly NavGroup[] = [
  { name: 'Data', tabs: ['overview', 'images', 'upload', 'map', 'search'] },
  { name: 'Label', tabs: ['annotate', 'label', 'review'] },
  { name: 'Model', tabs: ['train', 'model', 'predict'] },
  { name: 'Jobs', tabs: ['jobs'] },
];

/** One line on what a page is for, where the name alone does not say it (shown as the link's title and under the tabs). */
export const TAB_HELP: Partial<Record<ProjectTab, string>> = {
  annotate: 'One image at a time, large, with a key per class',
  label: 'A batch of suggested images at once: pick several, give them one class',
  review: "Check the model's guesses and likely mistakes",
  map: 'All images laid out by similarity; lasso a group to label it',
  search: 'Find images that look like a given one',
};

export interface Step {
  id: 'upload' | 'features' | 'label' | 'train' | 'use';
  title: string;
  /** What the state is now, in words. */
  detail: string;
  done: boolean;
  tab: ProjectTab;
  action: string;
}

/** Labels to ask for before training: five per class, and at least ten. */
export function labelTarget(classCount: number): number {
  return Math.max(10, 5 * classCount);
}

/** The checklist, each step ticked from the project, its jobs and its model. */
export function nextSteps(project: Project, jobs: readonly Job[], model: ModelInfo | null): Step[] {
  const succeeded = (kind: Job['kind']) => jobs.some((j) => j.kind === kind && j.state === 'succeeded');
  const featuresReady = project.backbone_version !== null && succeeded('embed');
  const target = labelTarget(project.classes.length);
  const trusted = project.classifier_version !== null && (model?.trust.trustworthy ?? false);
  const used = succeeded('predict') || succeeded('export');
  return [
    {
      id: 'upload',
      title: 'Upload images',
      detail: project.image_count > 0 ? `${project.image_count} images uploaded` : 'No images yet',
      done: project.image_count > 0,
      tab: 'upload',
      action: 'Upload images',
    },
    {
      id: 'features',
      title: 'Get features ready',
      detail: featuresReady
        ? `Backbone version ${project.backbone_version} has embedded the images`
        : jobs.some((j) => (j.kind === 'pretrain' || j.kind === 'embed') && (j.state === 'queued' || j.state === 'running'))
          ? 'Pretraining or embedding is running'
          : 'Pretrain the backbone (on the Jobs page or below) so that similar images can be found',
      done: featuresReady,
      tab: 'jobs',
      action: 'Pretrain',
    },
    {
      id: 'label',
      title: `Label ${target} images`,
      detail: `${project.labeled_count} of ${target} labeled` + (project.classes.length < 2 ? '; add at least two classes' : ''),
      done: project.labeled_count >= target && project.classes.length >= 2,
      tab: 'label',
      action: 'Label suggested images',
    },
    {
      id: 'train',
      title: 'Train a classifier you can trust',
      detail:
        project.classifier_version === null
          ? 'No classifier yet'
          : trusted
            ? `Classifier ${project.classifier_version} beats guessing`
            : `Classifier ${project.classifier_version} is not yet better than guessing: label more`,
      done: trusted,
      tab: 'train',
      action: 'Train',
    },
    {
      id: 'use',
      title: 'Use the model',
      detail: used ? 'Predicted or exported' : 'Predict new images or export the model',
      done: used,
      tab: 'predict',
      action: 'Predict',
    },
  ];
}

/** The first step not done, or null when all are. */
export function nextStep(steps: readonly Step[]): Step | null {
  return steps.find((s) => !s.done) ?? null;
}
