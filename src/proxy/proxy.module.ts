import { Module } from '@nestjs/common';
import { HeartbeatModule } from '../heartbeat/heartbeat.module';
import { PlansModule } from '../plans/plans.module';
import { LicenseCors } from './cors';
import { LicenseProxy } from './license-proxy.service';
import { LicenseRoute } from './license.route';
import { PlayerTokens } from './player-token';
import { ProxyMetrics } from './proxy-metrics';
import { UpstreamClient } from './upstream-client';

/** Entitlement-proxy mode: POST /v1/licenses/{drm} in front of licence servers (docs/proxy.md). */
@Module({
  imports: [HeartbeatModule, PlansModule],
  providers: [LicenseRoute, LicenseProxy, LicenseCors, PlayerTokens, ProxyMetrics, UpstreamClient],
})
export class ProxyModule {}
