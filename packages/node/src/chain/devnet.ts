import { rm } from "node:fs/promises";
import {
  DEFAULT_DEPLOY_PARAMS,
  OrchestratorRegistryAbi,
  RoundsManagerAbi,
  TicketBrokerAbi,
  deployLivepay,
  devAccounts,
  initializeRoundIfNeeded,
  localClients,
  startAnvil,
  type Anvil,
  type LocalClients,
} from "@livepay/contracts";
import { getAddress, numberToHex, type Address, type Hex } from "viem";
import { privateKeyToAddress } from "viem/accounts";
import { ChainError, toChainError } from "./errors.js";
import { sendContractTx } from "./livepeerChain.js";
import { writeManifest, type DevnetAccount, type DevnetManifest } from "./manifest.js";

export interface StartDevnetOptions {
  /** Orchestrators to register (default 3). */
  orchestrators?: number;
  /** Gateway (payer) accounts (default 2). */
  gateways?: number;
  /** Service URI of each orchestrator (default `https://127.0.0.1:<8935 + i>`). */
  serviceURIs?: string[];
  /** Stake of each orchestrator in wei (default 100 ETH × (orchestrators − i), so stakes differ). */
  stakes?: bigint[];
  /** Deposit and reserve each gateway funds at the TicketBroker (default 0: none). */
  gatewayDeposit?: bigint;
  gatewayReserve?: bigint;
  /** Blocks per round (default 50: ticket params expire after 40 blocks, so rounds must be longer). */
  roundLength?: bigint;
  unlockPeriod?: bigint;
  ticketValidityPeriod?: bigint;
  poolMaxSize?: bigint;
  /**
   * Mine a block every this many ms to keep rounds moving (default 1000; 0 = blocks only come from
   * transactions and `mine()`). Transactions are still mined at once (anvil automine).
   */
  blockTimeMs?: number;
  /** How often the keeper checks whether a new round needs initializing when it does not mine (default 1000; 0 = never). */
  roundCheckMs?: number;
  /** Write the manifest here (e.g. ".livepay/devnet.json"); removed again on stop for an own anvil. */
  manifestPath?: string;
  /** Deploy to this RPC instead of starting anvil (needs `privateKey`). */
  rpcUrl?: string;
  /** Key that deploys and funds the other accounts when `rpcUrl` is given. */
  privateKey?: Hex;
  /** With `rpcUrl`: top each role account up to this balance (default 10 ETH). */
  fundAmount?: bigint;
  /** Reports errors of the background round keeper (default: ignored). */
  onError?: (error: unknown) => void;
}

export interface Devnet {
  manifest: DevnetManifest;
  /** Mines `blocks` blocks at once (anvil_mine), then initializes the round if a new one began. */
  mine(blocks?: number): Promise<void>;
  /** Mines to the first block of the next round and initializes it; returns the new round. */
  nextRound(): Promise<bigint>;
  /** Stops the keeper, the anvil it started (if any) and removes the manifest it wrote for it. */
  stop(): Promise<void>;
}

const ETH = 10n ** 18n;

/**
 * Starts a local Livepeer-compatible chain: anvil on a free port (or the given RPC), livepay's
 * contracts, an initialized round, N registered orchestrators with stake and service URIs, funded
 * gateway accounts, and a keeper that mines blocks and initializes each new round. Resolves once
 * everything is ready; the manifest says where everything is.
 *
 * @example
 * const devnet = await startDevnet({ orchestrators: 3, manifestPath: ".livepay/devnet.json" });
 * console.log(devnet.manifest.rpcUrl); ...; await devnet.stop();
 */
export async function startDevnet(opts: StartDevnetOptions = {}): Promise<Devnet> {
  const orchestrators = opts.orchestrators ?? 3;
  const gateways = opts.gateways ?? 2;
  if (!Number.isInteger(orchestrators) || orchestrators < 0)
    throw new RangeError("orchestrators must be >= 0");
  if (!Number.isInteger(gateways) || gateways < 0) throw new RangeError("gateways must be >= 0");
  const roleCount = 1 + orchestrators + gateways;
  const accountCount = Math.max(10, roleCount);

  let anvil: Anvil | undefined;
  let rpcUrl: string;
  let deployerKey: Hex;
  if (opts.rpcUrl) {
    if (!opts.privateKey) throw new ChainError("CHAIN_CONFIG", "deploying to --rpc-url needs --private-key");
    rpcUrl = opts.rpcUrl;
    deployerKey = opts.privateKey;
  } else {
    anvil = await startAnvil({ accounts: accountCount });
    rpcUrl = anvil.rpcUrl;
    deployerKey = anvil.accounts[0]!.privateKey;
  }

  try {
    const deployer = await localClients(rpcUrl, deployerKey);
    const chainId = deployer.chain.id;
    const devKeys = devAccounts(accountCount);
    const deployerAddress = privateKeyToAddress(deployerKey);
    // On an own anvil, account 0 deploys; on a given RPC the given key does, and the dev accounts
    // (publicly known keys) play the other roles.
    const roleKeys = anvil ? devKeys.slice(1) : devKeys.filter((a) => a.address !== deployerAddress);

    const addresses = await deployLivepay(
      { walletClient: deployer.walletClient, publicClient: deployer.publicClient },
      {
        roundLength: opts.roundLength ?? DEFAULT_DEPLOY_PARAMS.roundLength,
        unlockPeriod: opts.unlockPeriod ?? DEFAULT_DEPLOY_PARAMS.unlockPeriod,
        ticketValidityPeriod: opts.ticketValidityPeriod ?? DEFAULT_DEPLOY_PARAMS.ticketValidityPeriod,
        poolMaxSize: opts.poolMaxSize ?? DEFAULT_DEPLOY_PARAMS.poolMaxSize,
        initializeRound: true,
      },
    );

    const accounts: DevnetAccount[] = [
      {
        role: "deployer",
        name: "deployer",
        address: deployerAddress,
        // Only publicly known dev keys go into the file; a key passed with --rpc-url stays private.
        ...(devKeys.some((a) => a.privateKey === deployerKey) ? { privateKey: deployerKey } : {}),
      },
    ];
    const take = (i: number) => {
      const a = roleKeys[i];
      if (!a) throw new RangeError(`not enough development accounts for ${roleCount} roles`);
      return a;
    };
    for (let i = 0; i < orchestrators; i++) {
      const a = take(i);
      accounts.push({
        role: "orchestrator",
        name: `orchestrator-${i + 1}`,
        address: a.address,
        privateKey: a.privateKey,
        serviceURI: opts.serviceURIs?.[i] ?? `https://127.0.0.1:${8935 + i}`,
        stake: String(opts.stakes?.[i] ?? 100n * ETH * BigInt(orchestrators - i)),
      });
    }
    for (let i = 0; i < gateways; i++) {
      const a = take(orchestrators + i);
      accounts.push({
        role: "gateway",
        name: `gateway-${i + 1}`,
        address: a.address,
        privateKey: a.privateKey,
      });
    }
    if (anvil) {
      roleKeys.slice(orchestrators + gateways).forEach((a, i) =>
        accounts.push({
          role: "user",
          name: `user-${i + 1}`,
          address: a.address,
          privateKey: a.privateKey,
        }),
      );
    }

    if (!anvil) await topUp(deployer, accounts, opts.fundAmount ?? 10n * ETH);

    await Promise.all(
      accounts
        .filter((a) => a.role === "orchestrator")
        .map(async (a) => {
          const c = await localClients(rpcUrl, a.privateKey!, chainId);
          await sendContractTx(c.publicClient, c.walletClient, 20, {
            address: addresses.orchestratorRegistry,
            abi: OrchestratorRegistryAbi,
            functionName: "register",
            args: [a.serviceURI!],
            value: BigInt(a.stake!),
            label: `OrchestratorRegistry.register(${a.name})`,
          });
        }),
    );
    const deposit = opts.gatewayDeposit ?? 0n;
    const reserve = opts.gatewayReserve ?? 0n;
    if (deposit > 0n || reserve > 0n) {
      await Promise.all(
        accounts
          .filter((a) => a.role === "gateway")
          .map(async (a) => {
            const c = await localClients(rpcUrl, a.privateKey!, chainId);
            await sendContractTx(c.publicClient, c.walletClient, 20, {
              address: addresses.ticketBroker,
              abi: TicketBrokerAbi,
              functionName: "fundDepositAndReserve",
              args: [deposit, reserve],
              value: deposit + reserve,
              label: `TicketBroker.fundDepositAndReserve(${a.name})`,
            });
          }),
      );
    }

    const read = deployer.publicClient;
    const [roundLength, unlockPeriod, ticketValidityPeriod, poolMaxSize, startBlock] = await Promise.all([
      read.readContract({
        address: addresses.roundsManager,
        abi: RoundsManagerAbi,
        functionName: "roundLength",
      }),
      read.readContract({
        address: addresses.ticketBroker,
        abi: TicketBrokerAbi,
        functionName: "unlockPeriod",
      }),
      read.readContract({
        address: addresses.ticketBroker,
        abi: TicketBrokerAbi,
        functionName: "ticketValidityPeriod",
      }),
      read.readContract({
        address: addresses.orchestratorRegistry,
        abi: OrchestratorRegistryAbi,
        functionName: "getTranscoderPoolMaxSize",
      }),
      read.getBlockNumber({ cacheTime: 0 }),
    ]);

    const manifest: DevnetManifest = {
      version: 1,
      network: "devnet",
      rpcUrl,
      chainId,
      contracts: {
        roundsManager: getAddress(addresses.roundsManager),
        orchestratorRegistry: getAddress(addresses.orchestratorRegistry),
        ticketBroker: getAddress(addresses.ticketBroker),
        ...(addresses.persistentTicketBroker
          ? { persistentTicketBroker: getAddress(addresses.persistentTicketBroker) }
          : {}),
      },
      params: {
        roundLength: Number(roundLength),
        unlockPeriod: Number(unlockPeriod),
        ticketValidityPeriod: Number(ticketValidityPeriod),
        poolMaxSize: Number(poolMaxSize),
      },
      accounts,
      startBlock: Number(startBlock),
      startedAt: new Date().toISOString(),
    };
    if (opts.manifestPath) await writeManifest(opts.manifestPath, manifest);

    const keeper = new RoundKeeper(deployer, addresses.roundsManager, opts.onError ?? (() => undefined));
    keeper.start(anvil ? (opts.blockTimeMs ?? 1000) : 0, opts.roundCheckMs ?? 1000);

    let stopped = false;
    return {
      manifest,
      mine: (blocks = 1) => keeper.mine(blocks),
      nextRound: () => keeper.nextRound(roundLength),
      async stop() {
        if (stopped) return;
        stopped = true;
        await keeper.stop();
        if (anvil) {
          await anvil.stop();
          if (opts.manifestPath) await rm(opts.manifestPath, { force: true });
        }
      },
    };
  } catch (e) {
    await anvil?.stop();
    throw e instanceof ChainError || e instanceof RangeError ? e : toChainError(e, { step: "startDevnet" });
  }
}

/** Tops each role account up to `amount` from the deployer (deploying to a given RPC). */
async function topUp(deployer: LocalClients, accounts: DevnetAccount[], amount: bigint): Promise<void> {
  for (const a of accounts) {
    if (a.role === "deployer") continue;
    const balance = await deployer.publicClient.getBalance({ address: a.address });
    if (balance >= amount) continue;
    const hash = await deployer.walletClient.sendTransaction({ to: a.address, value: amount - balance });
    const receipt = await deployer.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success")
      throw new ChainError("CHAIN_TX_FAILED", `funding ${a.name} failed`, { hash });
  }
}

/**
 * Mines blocks on a timer (anvil `evm_mine`) and initializes every new round from the deployer
 * account. All its transactions go through one queue so the deployer's nonces never race.
 */
class RoundKeeper {
  private timer: ReturnType<typeof setInterval> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private ticking = false;

  constructor(
    private readonly clients: LocalClients,
    private readonly roundsManager: Address,
    private readonly onError: (e: unknown) => void,
  ) {}

  /** `mineEveryMs` > 0 mines on a timer and checks the round after each block; else the round is checked every `checkEveryMs` (0: never). */
  start(mineEveryMs: number, checkEveryMs: number): void {
    const every = mineEveryMs > 0 ? mineEveryMs : checkEveryMs;
    if (every <= 0) return;
    this.timer = setInterval(() => {
      // A slow RPC must not pile up ticks.
      if (this.ticking) return;
      this.ticking = true;
      this.serial(async () => {
        if (mineEveryMs > 0) await this.clients.publicClient.request({ method: "evm_mine" } as never);
        await initializeRoundIfNeeded(this.clients, this.roundsManager);
      })
        .catch(this.onError)
        .finally(() => (this.ticking = false));
    }, every);
    this.timer.unref?.();
  }

  mine(blocks: number): Promise<void> {
    return this.serial(async () => {
      await this.clients.publicClient.request({
        method: "anvil_mine",
        params: [numberToHex(blocks)],
      } as never);
      await initializeRoundIfNeeded(this.clients, this.roundsManager);
    });
  }

  nextRound(roundLength: bigint): Promise<bigint> {
    return this.serial(async () => {
      const head = await this.clients.publicClient.getBlockNumber({ cacheTime: 0 });
      // Land the next transaction (initializeRound) in the first block of the next round.
      const next = (head / roundLength + 1n) * roundLength;
      const toMine = next - head - 1n;
      if (toMine > 0n) {
        await this.clients.publicClient.request({
          method: "anvil_mine",
          params: [numberToHex(toMine)],
        } as never);
      }
      return initializeRoundIfNeeded(this.clients, this.roundsManager);
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.queue.catch(() => undefined);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
