import { Logger, Module } from '@nestjs/common';
import { ConsoleController } from './console.controller';
import { CONSOLE_ASSETS } from './console.tokens';
import { consoleAssetsDir, loadConsoleAssets } from './console-assets';

/**
 * The admin console at /console: static files built into dist/ (scripts/build-console.mjs),
 * served with strict security headers. Off with USHER_CONSOLE=false (AppModule leaves it out).
 */
@Module({
  controllers: [ConsoleController],
  providers: [
    {
      provide: CONSOLE_ASSETS,
      useFactory: () => {
        const dir = consoleAssetsDir();
        const assets = loadConsoleAssets(dir);
        if (!assets.has('index.html')) {
          new Logger('Console').warn(`no console in ${dir}: run npm run build`);
        }
        return assets;
      },
    },
  ],
})
export class ConsoleModule {}
