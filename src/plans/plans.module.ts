import { Module } from '@nestjs/common';
import { PlanRegistry } from './plan-registry';

@Module({ providers: [PlanRegistry], exports: [PlanRegistry] })
export class PlansModule {}
