import { describe, expect, it } from 'vitest';
import { annotateCommand, typingInField } from './keys';

const k = (key: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; altKey: boolean; shiftKey: boolean }> = {}) => ({
  key,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  shiftKey: false,
  ...mods,
});

describe('annotateCommand', () => {
  it('maps undo, skip and back', () => {
    expect(annotateCommand(k('z', { ctrlKey: true }))).toBe('undo');
    expect(annotateCommand(k('Z', { metaKey: true }))).toBe('undo');
    expect(annotateCommand(k('Backspace'))).toBe('undo');
    expect(annotateCommand(k('s'))).toBe('skip');
    expect(annotateCommand(k('S', { shiftKey: true }))).toBe('skip');
    expect(annotateCommand(k('ArrowRight'))).toBe('skip');
    expect(annotateCommand(k('ArrowLeft'))).toBe('back');
  });

  it('ignores other keys and modified ones', () => {
    expect(annotateCommand(k('1'))).toBeNull();
    expect(annotateCommand(k('z'))).toBeNull();
    expect(annotateCommand(k('z', { ctrlKey: true, shiftKey: true }))).toBeNull();
    expect(annotateCommand(k('s', { ctrlKey: true }))).toBeNull();
    expect(annotateCommand(k('Backspace', { altKey: true }))).toBeNull();
  });
});

describe('typingInField', () => {
  it('text inputs, textareas and selects count as typing; buttons and checkboxes do not', () => {
    const text = document.createElement('input');
    const box = document.createElement('input');
    box.type = 'checkbox';
    expect(typingInField(text)).toBe(true);
    expect(typingInField(box)).toBe(false);
    expect(typingInField(document.createElement('textarea'))).toBe(true);
    expect(typingInField(document.createElement('select'))).toBe(true);
    expect(typingInField(document.createElement('button'))).toBe(false);
    expect(typingInField(null)).toBe(false);
  });
});
