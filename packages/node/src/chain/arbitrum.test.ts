import { createRequire } from "node:module";
import { TicketBrokerAbi, localClients } from "@livepay/contracts";
import {
  parseEther,
  toEventSelector,
  toFunctionSelector,
  type Abi,
  type AbiEvent,
  type AbiFunction,
  type Address,
  type Hex,
} from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectChain } from "./connect.js";
import { startDevnet, type Devnet } from "./devnet.js";
import { ARBITRUM_ONE, contractId } from "./livepeerContracts.js";

describe("Livepeer Controller names (spec §7.5)", () => {
  it("hashes contract names with keccak256", () => {
    expect(contractId("BondingManager")).toBe(
      "0x2517d59a36a86548e38734e8ab416f42afff4bca78706a66ad65750dae7f9e37",
    );
    expect(contractId("Minter")).toBe("0x6e58ad548d72b425ea94c15f453bf26caddb061d82b2551db7fdd3cefe0e9940");
    expect(contractId("RoundsManager")).toBe(
      "0xe8438ea868df48e3fc21f2f087b993c9b1837dc0f6135064161ce7d7a1701fe8",
    );
    expect(contractId("JobsManager")).toBe(
      "0x3d7456535a3155a46f15a2313c3915bd07137ffdc56464f4fc9a82bae7215c2d",
    );
    expect(contractId("TicketBroker")).toBe(
      "0xbd1aa3e8d2464256d7fd3dcf645c16418d5d8c51d971f1ad7d57e7b1b5eee239",
    );
  });

  it("calls Livepeer's selectors and reads Livepeer's event topics (spec §7.2, §7.5) through the generated ABIs", () => {
    const selector = (name: string) => {
      const fn = TicketBrokerAbi.find((i) => i.type === "function" && i.name === name) as AbiFunction;
      return toFunctionSelector(fn);
    };
    expect({
      fundDeposit: selector("fundDeposit"),
      fundReserve: selector("fundReserve"),
      fundDepositAndReserve: selector("fundDepositAndReserve"),
      redeemWinningTicket: selector("redeemWinningTicket"),
      unlock: selector("unlock"),
      cancelUnlock: selector("cancelUnlock"),
      withdraw: selector("withdraw"),
      getSenderInfo: selector("getSenderInfo"),
      claimableReserve: selector("claimableReserve"),
      claimedReserve: selector("claimedReserve"),
      usedTickets: selector("usedTickets"),
      unlockPeriod: selector("unlockPeriod"),
      ticketValidityPeriod: selector("ticketValidityPeriod"),
    }).toEqual({
      fundDeposit: "0x6caa736b",
      fundReserve: "0x6f9c3c8f",
      fundDepositAndReserve: "0x511f4073",
      redeemWinningTicket: "0xec8b3cb6",
      unlock: "0xa69df4b5",
      cancelUnlock: "0xc2c4c2c8",
      withdraw: "0x3ccfd60b",
      getSenderInfo: "0xe1a589da",
      claimableReserve: "0x81779f38",
      claimedReserve: "0x4ac826da",
      usedTickets: "0x59a515ba",
      unlockPeriod: "0x20d3a0b4",
      ticketValidityPeriod: "0x856a2cf8",
    });
    const topic = (name: string) =>
      toEventSelector(TicketBrokerAbi.find((i) => i.type === "event" && i.name === name) as AbiEvent);
    expect(topic("DepositFunded")).toBe("0x5159e237d952190e68d5215430f305831be7c9c8776d1377c76679ae4773413f");
    expect(topic("ReserveFunded")).toBe("0xb52b99b9e83551fcbd069b559cc3e823e2a1a3bad8ece46561ea77524394c850");
    expect(topic("ReserveClaimed")).toBe(
      "0x5c2b394723f408a40a60335e24b71829642e35f350cebe2036a96a66e895ea98",
    );
    expect(topic("WinningTicketTransfer")).toBe(
      "0x8b87351a208c06e3ceee59d80725fd77a23b4129e1b51ca231fc89b40712649c",
    );
    expect(topic("Unlock")).toBe("0xf7870c5b224cbc19873599e46ccfc7103934650509b1af0c3ce90138377c2004");
    expect(topic("UnlockCancelled")).toBe(
      "0xfa044b7b93a40365dc68049797c2eb06918523d694e5d56e406cac3eb35578e5",
    );
    expect(topic("Withdrawal")).toBe("0xdf273cb619d95419a9cd0ec88123a0538c85064229baa6363788f743fff90deb");
  });

  it("knows Livepeer's Arbitrum One addresses", () => {
    expect(ARBITRUM_ONE).toMatchObject({
      chainId: 42161,
      ticketBroker: "0xa8bB618B1520E284046F3dFc448851A1Ff26e41B",
      controller: "0xD8E8328501E9645d16Cf49539efC04f734606ee4",
    });
  });
});

// A stand-in for Livepeer's Controller registry (only what address resolution calls), written for
// this test and compiled with the repo's pinned solc.
const CONTROLLER_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
contract TestController {
    mapping(bytes32 => address) private registry;
    function setContractInfo(bytes32 id, address addr) external { registry[id] = addr; }
    function getContract(bytes32 id) external view returns (address) { return registry[id]; }
}`;

function compileController(): { abi: Abi; bytecode: Hex } {
  const solc = createRequire(import.meta.url)("solc") as { compile(input: string): string };
  const out = JSON.parse(
    solc.compile(
      JSON.stringify({
        language: "Solidity",
        sources: { "TestController.sol": { content: CONTROLLER_SOURCE } },
        settings: { outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
      }),
    ),
  ) as { contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>> };
  const c = out.contracts["TestController.sol"]!["TestController"]!;
  return { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
}

describe("the Arbitrum One backend, pointed at the devnet contracts", () => {
  let devnet: Devnet;
  let controller: Address;

  beforeAll(async () => {
    devnet = await startDevnet({ roundLength: 10n, blockTimeMs: 0, roundCheckMs: 0, orchestrators: 2 });
    const { abi, bytecode } = compileController();
    const deployer = devnet.manifest.accounts.find((a) => a.role === "deployer")!;
    const { publicClient, walletClient } = await localClients(devnet.manifest.rpcUrl, deployer.privateKey!);
    const hash = await walletClient.deployContract({ abi, bytecode });
    controller = (await publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
    const { contracts } = devnet.manifest;
    for (const [name, address] of [
      ["RoundsManager", contracts.roundsManager],
      ["BondingManager", contracts.orchestratorRegistry],
    ] as const) {
      const tx = await walletClient.writeContract({
        address: controller,
        abi,
        functionName: "setContractInfo",
        args: [contractId(name), address],
      });
      await publicClient.waitForTransactionReceipt({ hash: tx });
    }
  });

  afterAll(async () => {
    await devnet?.stop();
  });

  it("resolves RoundsManager and BondingManager through the Controller and works end to end", async () => {
    const gateway = devnet.manifest.accounts.find((a) => a.role === "gateway")!;
    const chain = await connectChain({
      network: "arbitrum-one",
      rpcUrl: devnet.manifest.rpcUrl,
      ticketBroker: devnet.manifest.contracts.ticketBroker,
      controller,
      chainId: devnet.manifest.chainId,
      privateKey: gateway.privateKey,
    });
    expect(chain.addresses).toEqual({
      ticketBroker: devnet.manifest.contracts.ticketBroker,
      roundsManager: devnet.manifest.contracts.roundsManager,
      bondingManager: devnet.manifest.contracts.orchestratorRegistry,
    });
    expect(await chain.getTranscoderPoolSize()).toBe(2n);
    const round = await devnet.nextRound();
    expect(await chain.currentRound()).toBe(round);
    expect(await chain.currentRoundInitialized()).toBe(true);
    await chain.fundDepositAndReserve(parseEther("1"), parseEther("2"));
    const info = await chain.getSenderInfo(gateway.address);
    expect(info.deposit).toBe(parseEther("1"));
    expect(info.reserve.fundsRemaining).toBe(parseEther("2"));
    await chain.unlock();
    await expect(chain.withdraw()).rejects.toMatchObject({
      code: "CHAIN_REVERTED",
      reason: "account is locked",
    });
  });

  it("refuses a chain that is not Arbitrum One unless told otherwise, and a controller missing a name", async () => {
    await expect(
      connectChain({ network: "arbitrum-one", rpcUrl: devnet.manifest.rpcUrl, controller }),
    ).rejects.toMatchObject({
      code: "CHAIN_CONFIG",
      message: `${devnet.manifest.rpcUrl} is chain 31337, expected 42161`,
    });
    await expect(
      connectChain({
        network: "arbitrum-one",
        rpcUrl: devnet.manifest.rpcUrl,
        chainId: 31337,
        ticketBroker: devnet.manifest.contracts.ticketBroker,
        // An address without code: getContract returns nothing decodable.
        controller: devnet.manifest.accounts[1]!.address,
      }),
    ).rejects.toMatchObject({ code: "CHAIN_CONFIG" });
  });

  it("custom networks take explicit addresses or read them from a livepay broker", async () => {
    const { contracts, rpcUrl } = devnet.manifest;
    const fromBroker = await connectChain({
      network: "custom",
      rpcUrl,
      ticketBroker: contracts.ticketBroker,
    });
    expect(fromBroker.addresses.roundsManager).toBe(contracts.roundsManager);
    expect(fromBroker.addresses.bondingManager).toBe(contracts.orchestratorRegistry);
    const viaController = await connectChain({
      network: "custom",
      rpcUrl,
      ticketBroker: contracts.ticketBroker,
      controller,
    });
    expect(viaController.addresses).toEqual(fromBroker.addresses);
    await expect(
      connectChain({ network: "custom", rpcUrl, ticketBroker: "0x1234" as Address }),
    ).rejects.toMatchObject({ code: "CHAIN_CONFIG" });
  });
});
