import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TokenBook } from './token-book';
import { TokenGuard } from './token-guard';

@Global()
@Module({
  providers: [TokenBook, { provide: APP_GUARD, useClass: TokenGuard }],
  exports: [TokenBook],
})
export class AuthModule {}
