import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { AdminApi } from '../admin/admin-api.decorator';
import { StatsDto } from './stats.dto';
import { StatsService } from './stats.service';
import { StatsView } from './stats-api';

@AdminApi('admin: stats')
@Controller('v1/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  @ApiOperation({
    summary: 'Decisions and live slots of every plan over the last 15 minutes',
    description:
      'Cluster-wide: every instance adds its in-memory counts to 10-second buckets in Redis every 5 s, so the newest few seconds may not be in yet. Live slots are usher_active_slots. What the console overview shows.',
  })
  @ApiOkResponse({ type: StatsDto, description: 'Per plan: totals and per-bucket series' })
  get(): Promise<StatsView> {
    return this.stats.stats();
  }
}
