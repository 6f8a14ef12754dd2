import { Module } from '@nestjs/common';
import { PlansModule } from '../plans/plans.module';
import { SessionStore } from './session-store';

@Module({ imports: [PlansModule], providers: [SessionStore], exports: [SessionStore] })
export class SessionsModule {}
