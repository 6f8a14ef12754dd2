import { Body, Controller, Delete, Get, HttpCode, Param, Put, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Caller } from '../auth/roles';
import { EffectivePlan } from '../plans/plan-registry';
import { AdminErrorDto, PlanBodyDto, PlanDto, PlanListDto } from './admin.dto';
import { AdminApi } from './admin-api.decorator';
import { CallerOf } from './caller.decorator';
import { PlanList, PlansAdminService } from './plans-admin.service';

const NAME_PARAM = { name: 'name', example: 'premium', description: 'Plan name (A-Z a-z 0-9 _ -)' };

@AdminApi('admin: plans')
@Controller('v1/plans')
export class PlansController {
  constructor(private readonly plans: PlansAdminService) {}

  @Get()
  @ApiOperation({
    summary: 'List the effective plans',
    description: 'File plans, with API plans on top; each says where it comes from (source).',
  })
  @ApiOkResponse({ type: PlanListDto, description: 'The default plan and every effective plan' })
  list(): PlanList {
    return this.plans.list();
  }

  @Get(':name')
  @ApiOperation({ summary: 'Get one effective plan' })
  @ApiParam(NAME_PARAM)
  @ApiOkResponse({ type: PlanDto, description: 'The effective plan' })
  @ApiNotFoundResponse({ type: AdminErrorDto, description: 'No such plan' })
  get(@Param('name') name: string): EffectivePlan {
    return this.plans.get(name);
  }

  @Put(':name')
  @ApiOperation({
    summary: 'Create or replace a plan',
    description:
      'Stored in Redis (source api) and in force on every instance within 2 s, no restart. Omitted fields take their defaults. Lowering maxStreams ends the newest live slots at their next renewal.',
  })
  @ApiParam(NAME_PARAM)
  @ApiBody({ type: PlanBodyDto })
  @ApiOkResponse({ type: PlanDto, description: 'Replaced; the effective plan' })
  @ApiCreatedResponse({ type: PlanDto, description: 'Created; the effective plan' })
  @ApiBadRequestResponse({ type: AdminErrorDto, description: 'Every invalid field named' })
  @ApiUnsupportedMediaTypeResponse({ description: 'Body is not application/json' })
  async put(
    @CallerOf() caller: Caller,
    @Param('name') name: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<EffectivePlan> {
    const { plan, created } = await this.plans.put(caller, name, body);
    reply.status(created ? 201 : 200);
    return plan;
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Remove an API plan, or revert a changed file plan to the file',
    description:
      'Users whose override names a removed plan fall back to the default plan. A plan as the file has it cannot be removed here, nor can the default plan.',
  })
  @ApiParam(NAME_PARAM)
  @ApiNoContentResponse({ description: 'Removed, or reverted to the file version' })
  @ApiNotFoundResponse({ type: AdminErrorDto, description: 'No such plan' })
  @ApiConflictResponse({
    type: AdminErrorDto,
    description: 'The default plan, or a file plan without API changes',
  })
  async remove(@CallerOf() caller: Caller, @Param('name') name: string): Promise<void> {
    await this.plans.remove(caller, name);
  }
}
