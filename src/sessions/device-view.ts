import { StoredDevice } from './session-store';

/** A registered device as the APIs show it (device_limit_exceeded, admin devices look-up). */
export interface DeviceView {
  deviceId: string;
  firstSeenAt: string;
  lastSeenAt: string;
}

export function toDeviceView(d: StoredDevice): DeviceView {
  return {
    deviceId: d.deviceId,
    firstSeenAt: new Date(d.firstSeenAt).toISOString(),
    lastSeenAt: new Date(d.lastSeenAt).toISOString(),
  };
}
