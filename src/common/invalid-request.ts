import { BadRequestException } from '@nestjs/common';

/** The one shape of every 400: each problem names its field ("field: what is wrong"). */
export function invalidRequest(problems: readonly string[]): BadRequestException {
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: problems.join('; '),
    problems,
  });
}
