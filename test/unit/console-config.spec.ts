import { ConfigError, loadConfig } from '../../src/config/load-config';

describe('USHER_CONSOLE', () => {
  it('serves the console unless it is false', () => {
    expect(loadConfig({}).console).toBe(true);
    expect(loadConfig({ USHER_CONSOLE: 'true' }).console).toBe(true);
    expect(loadConfig({ USHER_CONSOLE: 'false' }).console).toBe(false);
  });

  it('names a value that is neither true nor false', () => {
    expect(() => loadConfig({ USHER_CONSOLE: 'off' })).toThrow(ConfigError);
    expect(() => loadConfig({ USHER_CONSOLE: 'off' })).toThrow(/USHER_CONSOLE: must be one of/);
  });
});
