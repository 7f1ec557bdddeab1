import * as vscode from "vscode";
import { applyWorkspaceProfile } from "./applyWorkspaceProfile";
import { approveUser } from "./approveUser";
import { demoteUser } from "./demoteUser";
import { disableUser } from "./disableUser";
import { enableUser } from "./enableUser";
import { promoteUser } from "./promoteUser";
import { rejectUser } from "./rejectUser";
import { startSharedServer } from "./startSharedServer";
import { stopSharedServer } from "./stopSharedServer";
import { cancelDownload } from "./cancelDownload";
import type { CommandContext, CommandDefinition } from "./CommandContext";
import { copyEndpoint } from "./copyEndpoint";
import { copyModelId } from "./copyModelId";
import { createProfile } from "./createProfile";
import { deleteModel } from "./deleteModel";
import { deleteProfile } from "./deleteProfile";
import { duplicateProfile } from "./duplicateProfile";
import { togglePinProfile } from "./togglePinProfile";
import { addRemoteBackend } from "./addRemoteBackend";
import { addRemoteProfile, addRemoteReplica } from "./addRemoteProfile";
import { checkRemoteBackend } from "./checkRemoteBackend";
import { checkHosts } from "./checkHosts";
import { measurePerplexity, runBenchmark } from "./bench";
import { cancelJob, fineTune, fuseJobAdapter, resumeJob, serveJobAdapter, showJobLog } from "./jobs";
import { removeRemoteBackend } from "./removeRemoteBackend";
import { setRemoteBackendKey } from "./setRemoteBackendKey";
import { placeOnExo } from "./placeOnExo";
import { editProfile } from "./editProfile";
import { installEngine } from "./installEngine";
import { exportProfiles } from "./exportProfiles";
import { openDashboard } from "./openDashboard";
import { openModelOnHub } from "./openModelOnHub";
import { refreshModels } from "./refreshModels";
import { restartManager } from "./restartManager";
import { restartServer } from "./restartServer";
import { rotateGatewayKey } from "./rotateGatewayKey";
import { stopUsingInClaudeCode, useInClaudeCode } from "./useInClaudeCode";
import { stopUsingInCodex, useInCodex } from "./useInCodex";
import { retryConnection } from "./retryConnection";
import { revealModel } from "./revealModel";
import { searchHub } from "./searchHub";
import { setHfToken } from "./setHfToken";
import { showLog } from "./showLog";
import { showServerLogs } from "./showServerLogs";
import { startModel } from "./startModel";
import { startServer } from "./startServer";
import { stopAllServers } from "./stopAllServers";
import { stopServer } from "./stopServer";
import { connectTeamServer } from "./connectTeamServer";
import { signOutTeamServer } from "./signOutTeamServer";
import { chatWithTeamModel, refreshTeamServer, teamStartServer, teamStopServer } from "./teamServerActions";

/** Every command of the extension; package.json contributes exactly these (test/unit checks). */
export const COMMANDS: readonly CommandDefinition[] = [
  createProfile,
  editProfile,
  duplicateProfile,
  togglePinProfile,
  addRemoteBackend,
  removeRemoteBackend,
  checkRemoteBackend,
  setRemoteBackendKey,
  addRemoteProfile,
  addRemoteReplica,
  placeOnExo,
  checkHosts,
  fineTune,
  cancelJob,
  resumeJob,
  showJobLog,
  serveJobAdapter,
  fuseJobAdapter,
  runBenchmark,
  measurePerplexity,
  deleteProfile,
  exportProfiles,
  startServer,
  stopServer,
  restartServer,
  stopAllServers,
  showServerLogs,
  copyEndpoint,
  useInClaudeCode,
  stopUsingInClaudeCode,
  useInCodex,
  stopUsingInCodex,
  rotateGatewayKey,
  applyWorkspaceProfile,
  startModel,
  copyModelId,
  revealModel,
  openModelOnHub,
  deleteModel,
  refreshModels,
  searchHub,
  cancelDownload,
  setHfToken,
  restartManager,
  retryConnection,
  showLog,
  installEngine,
  openDashboard,
  startSharedServer,
  stopSharedServer,
  approveUser,
  rejectUser,
  disableUser,
  enableUser,
  promoteUser,
  demoteUser,
  connectTeamServer,
  signOutTeamServer,
  refreshTeamServer,
  chatWithTeamModel,
  teamStartServer,
  teamStopServer,
];

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  return COMMANDS.map((command) =>
    vscode.commands.registerCommand(command.id, async (...args: unknown[]) => {
      try {
        return await command.run(ctx, ...args);
      } catch (error) {
        ctx.errors.report(vscode.l10n.t("MLX: {0} failed", command.id), error);
        return undefined;
      }
    }),
  );
}
