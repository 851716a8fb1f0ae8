// Validates the prometheus-operator objects (ServiceMonitor, PrometheusRule) of the given YAML
// files against the operator's CRD schemas (@kubernetes-models/prometheus-operator), offline.
// Prints one line per object; exits 1 when one is invalid or a file holds none of them.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { ServiceMonitor, PrometheusRule } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const kinds = { ServiceMonitor, PrometheusRule };
let failed = false;
for (const file of process.argv.slice(2)) {
  let seen = 0;
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length) {
      console.log(`ERROR ${file}: ${doc.errors[0].message}`);
      failed = true;
      continue;
    }
    const object = doc.toJS();
    if (!object) continue;
    const Kind = kinds[object.kind];
    if (!Kind || object.apiVersion !== "monitoring.coreos.com/v1") continue;
    seen += 1;
    try {
      new Kind(object).validate();
      console.log(`ok ${file}: ${object.kind}/${object.metadata?.name}`);
    } catch (e) {
      console.log(`ERROR ${file}: ${object.kind}/${object.metadata?.name}: ${e.message}`);
      failed = true;
    }
  }
  if (seen === 0) {
    console.log(`ERROR ${file}: no ServiceMonitor or PrometheusRule in it`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
