// Cross-check against the deployed PersistentTicketBroker on a real anvil: the contract's own views
// (domainSeparator, type hashes, hashVoucher, hashDelegation) equal ours, and vouchers and delegations
// signed here are accepted by `claim` and `registerDelegationWithSig`.
import {
  PersistentTicketBrokerAbi as abi,
  deployPersistent,
  sendFrom,
  startAnvil,
  type Anvil,
  type PersistentEnv,
} from "@livepay/contracts";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bytesToHex } from "../bytes/hex.js";
import type { Hex } from "../bytes/hex.js";
import { ZERO_HASH } from "../pm/constants.js";
import { DELEGATION_TYPEHASH, delegationHash, signDelegation } from "./delegation.js";
import { domainSeparatorOf, persistentDomain } from "./domain.js";
import type { Eip712Domain } from "./eip712.js";
import { receiptsSumRoot } from "./sumTree.js";
import { arbDelegation, arbVoucher } from "./testFixtures.js";
import { VOUCHER_TYPEHASH, signVoucher, voucherHash, type Voucher } from "./voucher.js";
import { voucherContext } from "./voucherContext.js";

let anvil: Anvil;
let env: PersistentEnv;
let domain: Eip712Domain;

beforeAll(async () => {
  anvil = await startAnvil({ accounts: 4 });
  env = await deployPersistent(anvil.rpcUrl, anvil.accounts[0]!.address);
  domain = persistentDomain(env.chainId, env.broker);
});

afterAll(async () => {
  await anvil?.stop();
});

function read(functionName: string, args: unknown[] = []): Promise<unknown> {
  return env.publicClient.readContract({ address: env.broker, abi, functionName, args } as never);
}

describe("PersistentTicketBroker on anvil", () => {
  it("its domain separator and type hashes equal ours", async () => {
    expect(await read("domainSeparator")).toBe(bytesToHex(domainSeparatorOf(domain)));
    expect(await read("VOUCHER_TYPEHASH")).toBe(VOUCHER_TYPEHASH);
    expect(await read("DELEGATION_TYPEHASH")).toBe(DELEGATION_TYPEHASH);
  });

  it("hashVoucher and hashDelegation equal voucherHash and delegationHash", async () => {
    await fc.assert(
      fc.asyncProperty(arbVoucher, arbDelegation, async (v, d) => {
        const onChainV = await read("hashVoucher", [
          v.payer,
          v.payee,
          v.ticketId,
          v.epoch,
          v.cumulativeAmount,
          v.context,
        ]);
        expect(onChainV).toBe(voucherHash(domain, v));
        const onChainD = await read("hashDelegation", [
          d.payer,
          d.key,
          d.payee,
          d.cap,
          d.validUntilRound,
          d.epoch,
        ]);
        expect(onChainD).toBe(delegationHash(domain, d));
      }),
      { numRuns: 15 },
    );
  });

  it("claims a voucher signed here (compact r, vs) and registers a delegation signed here", async () => {
    const [, payer, payee, session] = anvil.accounts as [
      unknown,
      { address: Hex; privateKey: Hex },
      { address: Hex; privateKey: Hex },
      { address: Hex; privateKey: Hex },
    ];
    await sendFrom(
      env,
      payer.address,
      env.broker,
      abi,
      "fundDepositAndReserve",
      [10n ** 18n, 10n ** 17n],
      11n * 10n ** 17n,
    );
    const voucher: Voucher = {
      payer: payer.address.toLowerCase() as Hex,
      payee: payee.address.toLowerCase() as Hex,
      ticketId: 0n,
      epoch: 0n,
      cumulativeAmount: 123_456_789n,
      context: voucherContext(`0x${"ab".repeat(32)}`, ZERO_HASH),
    };
    const { r, vs } = signVoucher(domain, voucher, payer.privateKey);
    const root = receiptsSumRoot(domain, []).hash;
    await sendFrom(env, payee.address, env.broker, abi, "claim", [
      payee.address,
      payer.address,
      0n,
      {
        ticketId: 0n,
        cumulativeAmount: voucher.cumulativeAmount,
        newClaimed: 100_000_000n,
        context: voucher.context,
        r,
        vs,
        receiptsRoot: root,
      },
    ]);
    expect(await read("claimed", [payer.address, payee.address, 0n, 0n])).toBe(100_000_000n);

    const delegation = {
      payer: voucher.payer,
      key: session.address.toLowerCase() as Hex,
      payee: voucher.payee,
      cap: 10n ** 15n,
      validUntilRound: 1_000_000n,
      epoch: 0n,
    };
    const { signature } = signDelegation(domain, delegation, payer.privateKey);
    await sendFrom(env, payee.address, env.broker, abi, "registerDelegationWithSig", [
      delegation.payer,
      delegation.key,
      delegation.payee,
      delegation.cap,
      delegation.validUntilRound,
      delegation.epoch,
      signature,
    ]);
    const delegated: Voucher = { ...voucher, ticketId: 1n, cumulativeAmount: 5_000n };
    const sig = signVoucher(domain, delegated, session.privateKey);
    await sendFrom(env, payee.address, env.broker, abi, "claim", [
      payee.address,
      payer.address,
      0n,
      {
        ticketId: 1n,
        cumulativeAmount: 5_000n,
        newClaimed: 5_000n,
        context: delegated.context,
        r: sig.r,
        vs: sig.vs,
        receiptsRoot: root,
      },
    ]);
    expect(await read("claimed", [payer.address, payee.address, 0n, 1n])).toBe(5_000n);
    expect(
      ((await read("ticketSigner", [payer.address, payee.address, 0n, 1n])) as string).toLowerCase(),
    ).toBe(delegation.key);
  });
});
