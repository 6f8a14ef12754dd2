import { Body, Controller, Delete, Get, HttpCode, Param, Put, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
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
import { AdminErrorDto, OverrideBodyDto, OverrideDto, USER_PARAM } from './admin.dto';
import { AdminApi } from './admin-api.decorator';
import { CallerOf } from './caller.decorator';
import { OverridesAdminService, OverrideView } from './overrides-admin.service';

@AdminApi('admin: overrides')
@ApiParam(USER_PARAM)
@ApiBadRequestResponse({ type: AdminErrorDto, description: 'Every invalid field named' })
@Controller('v1/users/:userId/override')
export class OverridesController {
  constructor(private readonly overrides: OverridesAdminService) {}

  @Get()
  @ApiOperation({ summary: "Get a user's override" })
  @ApiOkResponse({ type: OverrideDto, description: 'The override in force' })
  @ApiNotFoundResponse({ type: AdminErrorDto, description: 'The user has no override in force' })
  get(@Param('userId') userId: string): Promise<OverrideView> {
    return this.overrides.get(userId);
  }

  @Put()
  @ApiOperation({
    summary: "Set (replace) a user's override",
    description:
      "Any of plan, maxStreams, countBy, onLimit (at least one), optional expiresAt. The policy is the heartbeat's plan field, else the override's plan, else the default plan; then the override's maxStreams, countBy and onLimit on top. In force at the user's next heartbeat.",
  })
  @ApiBody({ type: OverrideBodyDto })
  @ApiOkResponse({ type: OverrideDto, description: 'Replaced an override' })
  @ApiCreatedResponse({ type: OverrideDto, description: 'The user had no override' })
  @ApiUnsupportedMediaTypeResponse({ description: 'Body is not application/json' })
  async put(
    @CallerOf() caller: Caller,
    @Param('userId') userId: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<OverrideView> {
    const { override, created } = await this.overrides.put(caller, userId, body);
    reply.status(created ? 201 : 200);
    return override;
  }

  @Delete()
  @HttpCode(204)
  @ApiOperation({ summary: "Remove a user's override (the plan applies again)" })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiNotFoundResponse({ type: AdminErrorDto, description: 'The user has no override in force' })
  async remove(@CallerOf() caller: Caller, @Param('userId') userId: string): Promise<void> {
    await this.overrides.remove(caller, userId);
  }
}
