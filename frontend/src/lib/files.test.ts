import { describe, expect, it } from 'vitest';
import { uploadPath } from './files';

describe('uploadPath', () => {
  it('keeps the path below a picked folder, so class folders reach the server', () => {
    expect(uploadPath({ name: 'a.png', webkitRelativePath: 'pets/cat/a.png' })).toBe('pets/cat/a.png');
  });
  it('is the plain name for a chosen file', () => {
    expect(uploadPath({ name: 'a.png', webkitRelativePath: '' })).toBe('a.png');
    expect(uploadPath({ name: 'b.png' })).toBe('b.png');
  });
});
