import { describe, expect, it } from 'vitest';
import type { Class, MapPoint } from './api';
import { confidenceColor, groupByColor, labelLegend, pointColors, project, UNLABELED_COLOR } from './mapView';

const classes: Class[] = [
  { id: 1, name: 'cat', color: '#ff0000', hotkey: '1' },
  { id: 2, name: 'dog', color: '#00ff00', hotkey: '2' },
];
const points: MapPoint[] = [
  { image_id: 10, x: 0, y: 0, class_id: 1 },
  { image_id: 11, x: 1, y: 1, class_id: null },
  { image_id: 12, x: 0.5, y: 0.25, class_id: 2 },
];

describe('map view helpers', () => {
  it('projects [0, 1] into the padded canvas', () => {
    expect(project(points, { width: 120, height: 60, pad: 10 })).toEqual([
      { x: 10, y: 10 },
      { x: 110, y: 50 },
      { x: 60, y: 20 },
    ]);
  });

  it('colours by label, prediction and confidence; unlabeled and unknown are grey', () => {
    const preds = new Map([[10, [{ class_id: 2, class_name: 'dog', probability: 1 }]]]);
    expect(pointColors(points, 'label', classes, preds)).toEqual(['#ff0000', UNLABELED_COLOR, '#00ff00']);
    expect(pointColors(points, 'prediction', classes, preds)).toEqual(['#00ff00', UNLABELED_COLOR, UNLABELED_COLOR]);
    expect(pointColors(points, 'confidence', classes, preds)[0]).toBe('rgb(26, 152, 80)');
    expect(confidenceColor(0)).toBe('rgb(215, 48, 39)');
    expect(confidenceColor(0.5)).toBe('rgb(254, 196, 79)');
  });

  it('groups by colour and counts the legend', () => {
    expect([...groupByColor(['a', 'b', 'a']).entries()]).toEqual([
      ['a', [0, 2]],
      ['b', [1]],
    ]);
    expect(labelLegend(points, classes).map((e) => [e.name, e.count])).toEqual([
      ['cat', 1],
      ['dog', 1],
      ['unlabeled', 1],
    ]);
  });
});
