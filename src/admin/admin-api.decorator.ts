import { applyDecorators, UseFilters } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RequireRole } from '../auth/roles';
import { AdminErrorDto } from './admin.dto';
import { StoreFailureFilter } from './store-failure.filter';

/**
 * What every admin controller shares: the admin role, the store-failure mapping (503), and the
 * OpenAPI tag and auth errors that go with them.
 */
export function AdminApi(tag: string) {
  return applyDecorators(
    ApiTags(tag),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ type: AdminErrorDto, description: 'Missing or unknown token' }),
    ApiForbiddenResponse({
      type: AdminErrorDto,
      description: 'Token of another role (license-server)',
    }),
    RequireRole('admin'),
    UseFilters(StoreFailureFilter),
    ApiServiceUnavailableResponse({
      type: AdminErrorDto,
      description: 'Redis did not answer; retry',
    }),
  );
}
