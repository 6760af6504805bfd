// Keyboard helpers shared by the labeling views.

/** True when a key event comes from a text field (where letters, digits and Backspace mean typing). */
export function typingInField(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable) return true;
  if (tag === 'INPUT') {
    const type = (target as HTMLInputElement).type;
    return !['button', 'checkbox', 'radio', 'submit', 'reset', 'range', 'color', 'file'].includes(type);
  }
  return false;
}

export type AnnotateCommand = 'undo' | 'skip' | 'back' | null;

/** Map a key event to a one-at-a-time labeling command (digits are handled by the class buttons). */
export function annotateCommand(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey'>): AnnotateCommand {
  if (e.altKey) return null;
  if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === 'z') return 'undo';
  if (e.ctrlKey || e.metaKey) return null;
  if (e.key === 'Backspace') return 'undo';
  if (e.key === 's' || e.key === 'S' || e.key === 'ArrowRight') return 'skip';
  if (e.key === 'ArrowLeft') return 'back';
  return null;
}
