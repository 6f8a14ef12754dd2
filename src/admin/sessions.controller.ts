import { Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
} from '@nestjs/swagger';
import { Caller } from '../auth/roles';
import { AdminErrorDto, USER_PARAM, UserDevicesDto, UserSessionsDto } from './admin.dto';
import { AdminApi } from './admin-api.decorator';
import { CallerOf } from './caller.decorator';
import { SessionsAdminService, UserDevicesView, UserSessionsView } from './sessions-admin.service';

@AdminApi('admin: sessions')
@ApiParam(USER_PARAM)
@ApiBadRequestResponse({ type: AdminErrorDto, description: 'Invalid userId or sessionId' })
@Controller('v1/users/:userId')
export class SessionsController {
  constructor(private readonly sessions: SessionsAdminService) {}

  @Get('sessions')
  @ApiOperation({
    summary: "A user's live sessions and downloads, and the policy in force",
    description: 'An unknown user has no sessions (activeStreams 0), not a 404.',
  })
  @ApiOkResponse({ type: UserSessionsDto, description: 'Live sessions and the policy in force' })
  list(@Param('userId') userId: string): Promise<UserSessionsView> {
    return this.sessions.list(userId);
  }

  @Delete('sessions/:sessionId')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Terminate one session',
    description:
      'Its slot is freed now and the session is revoked: its next heartbeat is denied session_revoked. 204 also for an unknown session (which is revoked all the same).',
  })
  @ApiParam({
    name: 'sessionId',
    example: 'syn-3q2x7wQnZ0bT4mKp1aL9cA',
    description: 'The effective session id (as heartbeat responses and the listing show it)',
  })
  @ApiNoContentResponse({ description: 'Terminated' })
  async terminateOne(
    @CallerOf() caller: Caller,
    @Param('userId') userId: string,
    @Param('sessionId') sessionId: string,
  ): Promise<void> {
    await this.sessions.terminate(caller, userId, sessionId);
  }

  @Delete('sessions')
  @HttpCode(204)
  @ApiOperation({
    summary: "Terminate all of a user's sessions",
    description: 'Every live session is revoked and every slot freed.',
  })
  @ApiNoContentResponse({ description: 'Terminated' })
  async terminateAll(@CallerOf() caller: Caller, @Param('userId') userId: string): Promise<void> {
    await this.sessions.terminate(caller, userId);
  }

  @Get('devices')
  @ApiOperation({
    summary: "A user's registered devices (maxDevices)",
    description:
      'The devices seen within the last deviceWindowHours, most recently seen first, with the effective maxDevices (null: the plan does not cap devices).',
  })
  @ApiOkResponse({ type: UserDevicesDto, description: 'Registered devices and the cap in force' })
  devices(@Param('userId') userId: string): Promise<UserDevicesView> {
    return this.sessions.devices(userId);
  }

  @Delete('devices/:deviceId')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Free one device registration',
    description:
      'The device no longer counts against maxDevices; its live sessions are not ended. 204 also for an unknown device.',
  })
  @ApiParam({ name: 'deviceId', example: 'device-7f3a', description: 'The deviceId as registered' })
  @ApiNoContentResponse({ description: 'Freed' })
  async forgetDevice(
    @CallerOf() caller: Caller,
    @Param('userId') userId: string,
    @Param('deviceId') deviceId: string,
  ): Promise<void> {
    await this.sessions.forgetDevice(caller, userId, deviceId);
  }

  @Delete('downloads/:sessionId')
  @HttpCode(204)
  @ApiOperation({
    summary: 'End one download',
    description:
      'The download (a persistent licence) no longer counts against maxDownloads. The licence already on the device is not recalled. 204 also for an unknown download.',
  })
  @ApiParam({ name: 'sessionId', example: 'dl-5f2c', description: "The download's session id" })
  @ApiNoContentResponse({ description: 'Ended' })
  async endDownload(
    @CallerOf() caller: Caller,
    @Param('userId') userId: string,
    @Param('sessionId') sessionId: string,
  ): Promise<void> {
    await this.sessions.endDownload(caller, userId, sessionId);
  }
}
