/** The console's built files by name (Map<string, ConsoleAsset>). */
export const CONSOLE_ASSETS = Symbol('CONSOLE_ASSETS');
