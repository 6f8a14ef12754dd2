import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiBody,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import { RequireRole } from '../auth/roles';
import { invalidRequest } from '../common/invalid-request';
import { PlanRegistry } from '../plans/plan-registry';
import { validateHeartbeat } from './heartbeat-request';
import { ErrorResponseDto, HeartbeatRequestDto, HeartbeatResponseDto } from './heartbeat.dto';
import { HeartbeatResponse, HeartbeatService } from './heartbeat.service';

@ApiTags('renewal-check')
@ApiBearerAuth()
@Controller('v1/heartbeats')
export class HeartbeatController {
  constructor(
    private readonly heartbeats: HeartbeatService,
    private readonly plans: PlanRegistry,
  ) {}

  @Post()
  @HttpCode(200)
  @RequireRole('license-server')
  @ApiOperation({
    summary: 'Report a license message and get allow or deny',
    description:
      'Call on every license-request, license-renewal and license-release. Allow and deny are both 200; a deny means: issue no new license.',
  })
  @ApiBody({ type: HeartbeatRequestDto })
  @ApiOkResponse({ type: HeartbeatResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Every invalid field named' })
  @ApiUnauthorizedResponse({ description: 'Missing or unknown token' })
  @ApiForbiddenResponse({ description: 'Token of another role (admin)' })
  @ApiPayloadTooLargeResponse({ description: 'Body over 16 KiB' })
  @ApiUnsupportedMediaTypeResponse({ description: 'Body is not application/json' })
  @ApiServiceUnavailableResponse({ description: 'Store down and USHER_FAIL_MODE=closed' })
  heartbeat(@Body() body: unknown): Promise<HeartbeatResponse> {
    const { request, problems } = validateHeartbeat(body, (name) => this.plans.has(name));
    if (!request) throw invalidRequest(problems);
    return this.heartbeats.decide(request);
  }
}
