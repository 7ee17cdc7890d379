/**
 * Watch TLS files for changes, including Kubernetes' atomic swap of a mounted secret (the
 * `..data` symlink is replaced, so the file's own inode never changes): the parent directories
 * are watched, and any event there schedules one debounced reload.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface FileWatcher {
  close(): void;
}

export function watchFiles(files: readonly string[], onChange: () => void, debounceMs = 250): FileWatcher {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
    timer.unref();
  };
  const names = new Set(files.map((f) => basename(f)));
  // Our files, the kubelet's `..data` / `..<timestamp>` swaps, or an event without a name.
  const relevant = (name: string | null) => name === null || names.has(name) || name.startsWith('..');
  for (const dir of new Set(files.map((f) => dirname(f)))) {
    const w = watch(dir, { persistent: false }, (_event, name) => {
      if (relevant(name)) schedule();
    });
    w.on('error', schedule);
    watchers.push(w);
  }
  return {
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
