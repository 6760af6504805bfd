// Collect files from a drag-and-drop, descending into dropped folders where the browser allows it.

/** What makes two chosen files the same one (choosing a file twice must not upload it twice). */
export function fileKey(f: File): string {
  return `${f.webkitRelativePath || f.name}:${f.size}:${f.lastModified}`;
}

// Where each dropped file lay below the dropped folder ("photos/cats/a.png"): class folders become classes.
const droppedPaths = new WeakMap<object, string>();

/** The name a file is uploaded under: its path below a picked or dropped folder, else its name. */
export function uploadPath(f: { readonly name: string; readonly webkitRelativePath?: string }): string {
  return f.webkitRelativePath || droppedPaths.get(f) || f.name;
}

function readAllEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => {
    const all: FileSystemEntry[] = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(all);
        else {
          all.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

async function entryFiles(entry: FileSystemEntry): Promise<File[]> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    droppedPaths.set(file, entry.fullPath.replace(/^\/+/, ''));
    return [file];
  }
  if (entry.isDirectory) {
    const children = await readAllEntries((entry as FileSystemDirectoryEntry).createReader());
    const nested = await Promise.all(children.map(entryFiles));
    return nested.flat();
  }
  return [];
}

/** Files of a drop event; folders are walked recursively. Hidden files (".DS_Store" etc.) are skipped. */
export async function filesFromDrop(dt: DataTransfer): Promise<File[]> {
  const entries: FileSystemEntry[] = [];
  const plain: File[] = [];
  for (const item of Array.from(dt.items ?? [])) {
    if (item.kind !== 'file') continue;
    const entry = typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null;
    if (entry) entries.push(entry);
    else {
      const f = item.getAsFile();
      if (f) plain.push(f);
    }
  }
  if (entries.length === 0 && plain.length === 0) plain.push(...Array.from(dt.files ?? []));
  const walked = (await Promise.all(entries.map(entryFiles))).flat();
  return [...walked, ...plain].filter((f) => !f.name.startsWith('.'));
}
