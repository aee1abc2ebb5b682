/** The slice of a pino-like logger domain code and adapters use: `(facts, message)`. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
