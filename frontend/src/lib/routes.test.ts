import { describe, expect, it } from 'vitest';
import { PROJECT_TABS, TAB_LABELS, currentQuery, href, parseHash, withQuery } from './routes';
import { duration, pct, reasonText } from './format';

describe('hash routes', () => {
  it('parses the known routes', () => {
    expect(parseHash('')).toEqual({ name: 'projects' });
    expect(parseHash('#/')).toEqual({ name: 'projects' });
    expect(parseHash('#/settings')).toEqual({ name: 'settings' });
    const r = parseHash('#/projects/12/search?image=5');
    expect(r.name).toBe('project');
    if (r.name === 'project') {
      expect(r.projectId).toBe(12);
      expect(r.tab).toBe('search');
      expect(r.query.get('image')).toBe('5');
    }
    const o = parseHash('#/projects/3');
    expect(o.name === 'project' && o.tab).toBe('overview');
    expect(parseHash('#/projects/x/label').name).toBe('notfound');
    expect(parseHash('#/projects/3/nope').name).toBe('notfound');
  });

  it('builds links that parse back', () => {
    expect(href.similar(4, 9)).toBe('#/projects/4/search?image=9');
    const r = parseHash(href.project(4, 'label'));
    expect(r.name === 'project' && r.tab).toBe('label');
    for (const tab of ['review', 'model'] as const) {
      const t = parseHash(href.project(4, tab));
      expect(t.name === 'project' && t.tab).toBe(tab);
    }
  });

  it('labels every tab', () => {
    for (const tab of PROJECT_TABS) expect(TAB_LABELS[tab]).toMatch(/\S/);
    expect(PROJECT_TABS).toContain('review');
    expect(PROJECT_TABS).toContain('model');
  });
});

describe('formatting', () => {
  it('formats percentages, durations and reasons', () => {
    expect(pct(0.875)).toBe('87.5%');
    expect(pct(null)).toBe('—');
    expect(duration(65)).toBe('1m 05s');
    expect(duration(3725)).toBe('1h 02m');
    expect(reasonText({ strategy: 'margin', margin: 0.12345, rank: 2 })).toBe('margin · margin 0.123, rank 2');
  });
});

describe('withQuery', () => {
  it('sets, replaces and removes query keys of a hash route', () => {
    expect(withQuery('#/projects/1/images', { filter: 'labeled' })).toBe('#/projects/1/images?filter=labeled');
    expect(withQuery('#/projects/1/images?filter=labeled&class=3', { filter: null })).toBe('#/projects/1/images?class=3');
    expect(currentQuery('#/projects/1/review?view=mislabels').get('view')).toBe('mislabels');
  });
});
