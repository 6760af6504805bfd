import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import ClassButtons from './ClassButtons.svelte';
import type { Class } from '../lib/api';

const classes: Class[] = [
  { id: 11, name: 'cat', color: '#ff0000', hotkey: '1' },
  { id: 12, name: 'dog', color: '#00ff00', hotkey: '2' },
  { id: 13, name: 'bird', color: '#0000ff', hotkey: null },
];

afterEach(() => cleanup());

describe('ClassButtons', () => {
  it('renders one button per class with its hotkey and calls back on click', async () => {
    const onassign = vi.fn();
    render(ClassButtons, { props: { classes, onassign } });
    const buttons = screen.getAllByTestId('class-button');
    expect(buttons).toHaveLength(3);
    expect(buttons.map((b) => b.getAttribute('data-class-id'))).toEqual(['11', '12', '13']);
    expect(buttons[0]!.querySelector('kbd')?.textContent).toBe('1');
    expect(buttons[1]!.textContent).toContain('dog');
    expect(buttons[1]!.querySelector('kbd')?.textContent).toBe('2');
    expect(buttons[2]!.querySelector('kbd')).toBeNull();

    await fireEvent.click(buttons[1]!);
    expect(onassign).toHaveBeenCalledWith(12);
  });

  it('assigns with the classes\' hotkeys and unlabels with -, but not while typing in a field', async () => {
    const onassign = vi.fn();
    const onunlabel = vi.fn();
    render(ClassButtons, { props: { classes, onassign, onunlabel } });

    await fireEvent.keyDown(window, { key: '1' });
    expect(onassign).toHaveBeenLastCalledWith(11);
    await fireEvent.keyDown(window, { key: '9' }); // no class has hotkey 9
    expect(onassign).toHaveBeenCalledTimes(1);
    await fireEvent.keyDown(window, { key: '-' });
    expect(onunlabel).toHaveBeenCalledTimes(1);
    await fireEvent.keyDown(window, { key: '2', ctrlKey: true });
    expect(onassign).toHaveBeenCalledTimes(1);

    const input = document.createElement('input');
    document.body.appendChild(input);
    await fireEvent.keyDown(input, { key: '2' });
    expect(onassign).toHaveBeenCalledTimes(1);
    input.remove();
  });

  it('ignores keys when disabled', async () => {
    const onassign = vi.fn();
    render(ClassButtons, { props: { classes, onassign, disabled: true } });
    await fireEvent.keyDown(window, { key: '1' });
    expect(onassign).not.toHaveBeenCalled();
    expect(screen.getAllByTestId('class-button').every((b) => (b as HTMLButtonElement).disabled)).toBe(true);
  });
});
