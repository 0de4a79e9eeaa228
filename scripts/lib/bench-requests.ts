/**
 * Request bodies the benchmarks record: one programme with a budget no run can
 * exhaust, and applications from distinct enterprises (valid credit codes).
 */
import { creditCodeCheckChar } from "../../service/records/identifiers";

/** The i-th benchmark enterprise's unified social credit code, check character included. */
export function creditCode(i: number): string {
  const first17 = `91110101${String(i).padStart(9, "0")}`;
  return first17 + creditCodeCheckChar(first17);
}

export function programmeBody(code: string) {
  return {
    code,
    name: "Benchmark programme",
    agency: "Bench agency",
    budgetFen: "900000000000000000",
    currency: "CNY",
    policyDocument: { sha256: "0".repeat(64), url: "https://example.gov.cn/policy.pdf" },
    opensOn: "2000-01-01",
    closesOn: "2099-12-31",
    fourEyesThresholdFen: "100000000",
  };
}

/** An application of enterprise `i`, with the private fields a real one carries. */
export function applicationBody(programmeId: string, i: number) {
  return {
    programmeId,
    creditCode: creditCode(i),
    enterpriseName: `基准企业${i}有限公司`,
    region: "110101",
    requestedFen: "1000000",
    private: { contactPerson: "张三", phone: "13800000000", bankAccount: "6222020200112233" },
  };
}
