import { Module } from '@nestjs/common';
import { PlansModule } from '../plans/plans.module';
import { SessionsModule } from '../sessions/sessions.module';
import { AuditLog } from './audit-log';
import { OverridesAdminService } from './overrides-admin.service';
import { OverridesController } from './overrides.controller';
import { PlansAdminService } from './plans-admin.service';
import { PlansController } from './plans.controller';
import { SessionsAdminService } from './sessions-admin.service';
import { SessionsController } from './sessions.controller';

/** The admin API (docs/admin-api.md): runtime plans, per-user overrides, user sessions. Admin tokens only. */
@Module({
  imports: [PlansModule, SessionsModule],
  controllers: [PlansController, OverridesController, SessionsController],
  providers: [AuditLog, PlansAdminService, OverridesAdminService, SessionsAdminService],
})
export class AdminModule {}
