import type { CommandGroup } from "../command.js";
import { paymentCommand } from "./payment.js";
import { devnetCommand } from "./devnet.js";
import { depositCommand } from "./deposit.js";
import { reserveCommand } from "./reserve.js";
import { unlockCommand } from "./unlock.js";
import { withdrawCommand } from "./withdraw.js";
import { statusCommand } from "./status.js";
import { orchestratorCommand } from "./orchestrator.js";
import { gatewayCommand } from "./gateway.js";
import { startCommand } from "./start.js";
import { ticketCommand } from "./ticket.js";

/** Every `livepay <group>` command, in the order `livepay --help` lists them. */
export const commandGroups: readonly CommandGroup[] = [
  paymentCommand,
  devnetCommand,
  depositCommand,
  reserveCommand,
  unlockCommand,
  withdrawCommand,
  statusCommand,
  orchestratorCommand,
  gatewayCommand,
  startCommand,
  ticketCommand,
];
