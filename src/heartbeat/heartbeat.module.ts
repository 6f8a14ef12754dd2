import { Module } from '@nestjs/common';
import { PlansModule } from '../plans/plans.module';
import { SessionsModule } from '../sessions/sessions.module';
import { HeartbeatRoute } from './heartbeat.route';
import { HeartbeatService } from './heartbeat.service';

@Module({
  imports: [SessionsModule, PlansModule],
  providers: [HeartbeatService, HeartbeatRoute],
  exports: [HeartbeatService],
})
export class HeartbeatModule {}
