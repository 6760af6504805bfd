// The classifier's out-of-fold report as the Model page shows it: per-class rows and a confusion matrix
// whose cells are shaded by the share of their row (the true class), with names and colours from the API.

import type { Class, ClassificationReport } from './api';

export interface ReportClass {
  id: number;
  name: string;
  color: string;
}

export interface ClassRow extends ReportClass {
  precision: number;
  recall: number;
  support: number;
}

export interface ConfusionCell {
  count: number;
  /** count / the row's total (0 for an empty row): the share of that true class predicted as the column. */
  fraction: number;
  diagonal: boolean;
}

export interface ConfusionMatrix {
  classes: ReportClass[];
  rows: ConfusionCell[][];
  total: number;
}

const DELETED = '#999999';

/** The report's classes in its order; a class deleted since training keeps a neutral name and colour. */
export function reportClasses(report: ClassificationReport, classes: Class[]): ReportClass[] {
  const byId = new Map(classes.map((c) => [c.id, c]));
  return report.classes.map((id) => {
    const c = byId.get(id);
    return { id, name: c?.name ?? `deleted class ${id}`, color: c?.color ?? DELETED };
  });
}

export function classRows(report: ClassificationReport, classes: Class[]): ClassRow[] {
  return reportClasses(report, classes).map((c, i) => ({
    ...c,
    precision: report.precision[i] ?? 0,
    recall: report.recall[i] ?? 0,
    support: report.support[i] ?? 0,
  }));
}

export function confusionMatrix(report: ClassificationReport, classes: Class[]): ConfusionMatrix {
  let total = 0;
  const rows = report.confusion.map((row, i) => {
    const sum = row.reduce((a, b) => a + b, 0);
    total += sum;
    return row.map((count, j) => ({ count, fraction: sum > 0 ? count / sum : 0, diagonal: i === j }));
  });
  return { classes: reportClasses(report, classes), rows, total };
}

/**
 * Background and text colour of a cell: green on the diagonal (right), red off it (confused), the stronger
 * the larger its share of the row; dark text on light cells and white on dark ones, for contrast.
 */
export function cellColors(cell: Pick<ConfusionCell, 'fraction' | 'diagonal'>): { background: string; color: string } {
  const f = Math.min(1, Math.max(0, Number.isFinite(cell.fraction) ? cell.fraction : 0));
  if (f === 0) return { background: 'transparent', color: 'inherit' };
  const rgb = cell.diagonal ? '46, 125, 50' : '198, 40, 40';
  const alpha = 0.12 + 0.88 * f;
  return { background: `rgba(${rgb}, ${alpha.toFixed(2)})`, color: alpha > 0.55 ? '#fff' : 'inherit' };
}
