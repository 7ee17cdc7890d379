/** A configuration problem found at start-up; the message names the file, the line and the key. */
export class ConfigError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly key: string | undefined;

  constructor(file: string, line: number | undefined, key: string | undefined, message: string) {
    const where = line === undefined ? file : `${file}:${line}`;
    super(key === undefined || key === '' ? `${where}: ${message}` : `${where}: ${key}: ${message}`);
    this.name = 'ConfigError';
    this.file = file;
    this.line = line;
    this.key = key;
  }
}
