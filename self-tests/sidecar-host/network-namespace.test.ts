import { describe, expect, test } from 'vitest';
import { addressFromTop, NetworkNamespace } from './network-namespace.ts';

describe('addressFromTop', () => {
  test('counts down from the last host address of the subnet, whatever address in it is given', () => {
    expect(addressFromTop('172.18.0.0/16', 1)).toBe('172.18.255.254');
    expect(addressFromTop('172.18.0.0/16', 2)).toBe('172.18.255.253');
    expect(addressFromTop('192.168.47.0/24', 3)).toBe('192.168.47.252');
    expect(addressFromTop('10.1.2.3/24', 1)).toBe('10.1.2.254');
  });

  test('refuses what is not an IPv4 subnet, and offsets that leave the subnet', () => {
    expect(() => addressFromTop('fd00::/64', 1)).toThrow(/not an IPv4 subnet/);
    expect(() => addressFromTop('10.0.0.0/30', 1)).toThrow(/does not fit/);
    expect(() => addressFromTop('10.0.0.0/24', 0)).toThrow(/does not fit/);
    expect(() => addressFromTop('10.0.0.0/24', 253)).toThrow(/does not fit/);
    expect(addressFromTop('10.0.0.0/24', 252)).toBe('10.0.0.3');
  });
});

describe('NetworkNamespace', () => {
  test('a name without the sweep\'s prefix is refused', () => {
    expect(() => new NetworkNamespace('cart')).toThrow(/must start with "evsh-"/);
  });

  test('start without a network says what to call first', async () => {
    await expect(new NetworkNamespace('evsh-x').start()).rejects.toThrow(/onNetwork/);
  });
});
