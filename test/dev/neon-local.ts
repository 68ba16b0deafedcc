// Configures the Neon driver in Node exactly as the Worker does locally.
import ws from "ws";
import { neonConfig } from "@neondatabase/serverless";

export function useLocalNeon(proxyAddress: string): void {
  neonConfig.webSocketConstructor = ws;
  neonConfig.wsProxy = (host, port) => `${proxyAddress}/v1?address=${host}:${port}`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  neonConfig.pipelineConnect = false;
}
