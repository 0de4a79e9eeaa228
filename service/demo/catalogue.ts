/**
 * The fixed vocabulary of the demo data: the province, its agencies and
 * officials, the programmes and how their applications behave, and the parts
 * enterprise and person names are built from.
 *
 * Everything here is invented for demonstration. The agencies are real
 * provincial departments of 浙江省 and the programme names follow real policy
 * types, but no budget, amount, enterprise, person, official, policy document
 * or bank account is real. Policy documents live on example.org (RFC 2606),
 * phones are +86 138 0000 xxxx and bank accounts start 99990000.
 */
import type { Actor } from "../records/entry";

/** The province the demo enterprises are registered in: every county-level unit of it is a candidate region. */
export const DEMO_PROVINCE = { code: "330000", name: "浙江省" } as const;

/**
 * The 26 mountain counties (山区26县) of 浙江省, named in the province's
 * development plans; the 山区 programme takes applicants from these only.
 * Three are urban districts (柯城区, 衢江区, 莲都区) and two county-level cities
 * (江山市, 龙泉市), so that programme is not purely rural either.
 */
export const MOUNTAIN_COUNTIES: readonly string[] = [
  "330127", // 淳安县
  "330324", // 永嘉县
  "330326", // 平阳县
  "330327", // 苍南县
  "330328", // 文成县
  "330329", // 泰顺县
  "330723", // 武义县
  "330727", // 磐安县
  "330802", // 柯城区
  "330803", // 衢江区
  "330822", // 常山县
  "330824", // 开化县
  "330825", // 龙游县
  "330881", // 江山市
  "331022", // 三门县
  "331023", // 天台县
  "331024", // 仙居县
  "331102", // 莲都区
  "331121", // 青田县
  "331122", // 缙云县
  "331123", // 遂昌县
  "331124", // 松阳县
  "331125", // 云和县
  "331126", // 庆元县
  "331127", // 景宁畲族自治县
  "331181", // 龙泉市
];

export type AgencyKey = "dsj" | "jxt" | "rst" | "kjt" | "fgw" | "qzfgw" | "czt";

export interface Agency {
  readonly name: string;
  /** Host of its (example) policy documents. */
  readonly docHost: string;
  /**
   * Its code, for the agencies the demo registers as agency records (service/records: division code and
   * department code); its officials' tokens and its programmes name it by this code. Absent: the agency
   * is named as free text, as before agencies were records, and is not separated from the others.
   */
  readonly code?: string;
  /** The registered agency one level up. */
  readonly parent?: string;
}

/**
 * The registered agencies: the province's 发改委, which owns the 山区26县
 * programme, and 衢州市发改委, a prefecture agency under it to which the
 * province delegates that programme, so 衢州's clerks record the applications
 * of 衢州's mountain counties. Both are registered by the deployment-wide
 * admin (an admin of the unregistered 大数据发展管理局, which runs the platform).
 */
export const PROVINCE_FGW = "330000-FGW";
export const QUZHOU_FGW = "330800-FGW";
/** The prefecture whose applicants 衢州市发改委 records: division codes starting with this. */
export const QUZHOU_PREFIX = "3308";

export const AGENCIES: Readonly<Record<AgencyKey, Agency>> = {
  dsj: { name: "浙江省大数据发展管理局", docHost: "dsj.zj.example.org" },
  jxt: { name: "浙江省经济和信息化厅", docHost: "jxt.zj.example.org" },
  rst: { name: "浙江省人力资源和社会保障厅", docHost: "rlsbt.zj.example.org" },
  kjt: { name: "浙江省科学技术厅", docHost: "kjt.zj.example.org" },
  fgw: { name: "浙江省发展和改革委员会", docHost: "fzggw.zj.example.org", code: PROVINCE_FGW },
  qzfgw: { name: "衢州市发展和改革委员会", docHost: "fgw.qz.example.org", code: QUZHOU_FGW, parent: PROVINCE_FGW },
  czt: { name: "浙江省财政厅", docHost: "czt.zj.example.org" },
};

/**
 * Officials by agency and role. Each programme agency has one administrator
 * (records the programme), two clerks (applications) and two approvers
 * (decisions and corrections); the finance department has three payers and
 * two approvers who confirm payouts at or above a four-eyes threshold. The
 * province's 发改委 is a registered agency, which an unregistered finance
 * department may not pay into: it has payers of its own, and its approvers
 * confirm their payouts. 衢州市发改委 has clerks only. No official holds two
 * roles, so the separation-of-duty rules always hold.
 */
const OFFICIALS: Readonly<Record<AgencyKey, Partial<Record<Actor["role"], readonly string[]>>>> = {
  jxt: { admin: ["jxt.shen.hong"], clerk: ["jxt.chen.jing", "jxt.lou.yifan"], approver: ["jxt.zhou.jianguo", "jxt.he.lina"] },
  rst: { admin: ["rst.xu.min"], clerk: ["rst.wang.fang", "rst.ye.chen"], approver: ["rst.jiang.tao", "rst.fang.li"] },
  kjt: { admin: ["kjt.pan.wei"], clerk: ["kjt.zhu.yan", "kjt.qian.hao"], approver: ["kjt.sun.zhiqiang", "kjt.yu.xiaodong"] },
  dsj: { admin: ["dsj.platform.admin"] },
  fgw: { admin: ["fgw.tang.jun"], clerk: ["fgw.mao.lei", "fgw.wu.juan"], approver: ["fgw.lin.haiyan", "fgw.hu.wenbin"], payer: ["fgw.ni.qiang", "fgw.shao.yun"] },
  qzfgw: { clerk: ["qzfgw.zhao.min", "qzfgw.jiang.hui"] },
  czt: { payer: ["czt.zheng.lu", "czt.dong.ping", "czt.cao.qing"], approver: ["czt.liang.guoqing", "czt.song.liping"] },
};

/** Whether `official` is one of the demo's invented officials. */
export function isDemoOfficial(official: unknown): boolean {
  return Object.values(OFFICIALS).some((roles) => Object.values(roles).some((names) => names?.includes(official as string)));
}

/** The officials of `agency` holding `role`; throws if there are none (a bug in the catalogue). */
export function officials(agency: AgencyKey, role: Actor["role"]): readonly Actor[] {
  const names = OFFICIALS[agency][role];
  if (names === undefined || names.length === 0) throw new Error(`demo catalogue: ${agency} has no ${role}`);
  return names.map((official) => ({ official, agency: AGENCIES[agency].code ?? AGENCIES[agency].name, role }));
}

/**
 * How a programme's applications are sized, decided and paid. Amounts are in
 * yuan here and turned into fen by the generator.
 */
export interface ProgrammeModel {
  readonly key: string;
  /** Programme code without the year: ZJ-<agency>-<year>-<suffix>. */
  readonly suffix: string;
  /** The name without the year prefix. */
  readonly name: string;
  readonly agency: AgencyKey;
  /** The four-eyes threshold in yuan. */
  readonly fourEyesYuan: number;
  /** Months (0-based, from the start of the history) in which applications are received. */
  readonly window: readonly [first: number, last: number];
  /** Months the programme stays open from the start of the history (closesOn). */
  readonly openMonths: number;
  /** Relative popularity among eligible enterprises. */
  readonly weight: number;
  /** Only enterprises in {@link MOUNTAIN_COUNTIES} may apply. */
  readonly mountainOnly: boolean;
  /** Share of applications rejected. */
  readonly rejectRate: number;
  /** Working days from application to decision. */
  readonly decisionLag: readonly [min: number, max: number];
  /**
   * Payout tranches: share of the approved amount and working days after the
   * decision (first tranche) or after the previous tranche.
   */
  readonly tranches: readonly { readonly share: number; readonly lag: readonly [number, number] }[];
  readonly approvalReason: string;
  readonly rejectionReasons: readonly string[];
}

export const PROGRAMMES: readonly ProgrammeModel[] = [
  {
    key: "wgfh",
    suffix: "WGFH",
    name: "失业保险稳岗返还（稳岗补贴）",
    agency: "rst",
    fourEyesYuan: 500_000,
    window: [0, 2],
    openMonths: 3,
    weight: 0.55,
    mountainOnly: false,
    rejectRate: 0.05,
    decisionLag: [8, 20],
    tranches: [{ share: 1, lag: [3, 10] }],
    approvalReason: "经失业保险经办机构核验，企业上年度未裁员或裁员率低于规定标准，按上年度实际缴纳失业保险费的60%返还",
    rejectionReasons: [
      "经核验，企业上年度裁员率高于统筹地区城镇调查失业率控制目标，不符合返还条件",
      "企业申报期内存在欠缴失业保险费情形，不符合返还条件",
      "企业被列入严重失信主体名单，不予返还",
    ],
  },
  {
    key: "zjtx",
    suffix: "ZJTX",
    name: "专精特新中小企业奖励",
    agency: "jxt",
    fourEyesYuan: 300_000,
    window: [1, 3],
    openMonths: 12,
    weight: 0.25,
    mountainOnly: false,
    rejectRate: 0.1,
    decisionLag: [15, 30],
    tranches: [{ share: 1, lag: [8, 20] }],
    approvalReason: "经形式审查、专家评审和社会公示（5个工作日）无异议，按认定等级给予一次性奖励",
    rejectionReasons: [
      "企业专精特新认定已过有效期，不符合奖励条件",
      "企业上年度主营业务收入占营业收入比重低于70%，不符合申报条件",
      "同一事项已获得市级同类奖励，按规定不重复支持",
    ],
  },
  {
    key: "jsgz",
    suffix: "JSGZ",
    name: "企业技术改造项目补助",
    agency: "jxt",
    fourEyesYuan: 1_000_000,
    window: [0, 3],
    openMonths: 12,
    weight: 0.2,
    mountainOnly: false,
    rejectRate: 0.12,
    decisionLag: [20, 35],
    tranches: [
      { share: 0.6, lag: [8, 18] },
      { share: 0.4, lag: [25, 45] },
    ],
    approvalReason: "经第三方机构审计核定项目设备和软件投资额，按核定投资额的10%给予补助，先拨付60%，项目竣工验收后拨付余款",
    rejectionReasons: [
      "项目核定设备投资额低于500万元申报门槛",
      "项目开工时间早于申报指南规定的起始日期",
      "申报材料不齐全，经通知逾期未补正",
    ],
  },
  {
    key: "yfbz",
    suffix: "YFBZ",
    name: "科技型中小企业研发费用补助",
    agency: "kjt",
    fourEyesYuan: 500_000,
    window: [0, 4],
    openMonths: 12,
    weight: 0.3,
    mountainOnly: false,
    rejectRate: 0.15,
    decisionLag: [15, 30],
    tranches: [{ share: 1, lag: [8, 20] }],
    approvalReason: "经税务部门研发费用加计扣除数据比对，按上年度研发费用增量的10%给予补助",
    rejectionReasons: [
      "企业未取得科技型中小企业入库登记编号",
      "上年度研发费用未形成增量，不符合补助条件",
      "研发费用归集与加计扣除申报数据不一致，经核实后不予补助",
    ],
  },
  {
    key: "sq26",
    suffix: "SQ26",
    name: "山区26县特色产业发展专项补助",
    agency: "fgw",
    fourEyesYuan: 1_000_000,
    window: [1, 4],
    openMonths: 12,
    weight: 0.7,
    mountainOnly: true,
    rejectRate: 0.1,
    decisionLag: [15, 30],
    tranches: [
      { share: 0.5, lag: [8, 15] },
      { share: 0.5, lag: [20, 40] },
    ],
    approvalReason: "项目列入山区26县特色产业发展项目库，经县级推荐、省级评审，按核定投资额的15%给予补助，分两期拨付",
    rejectionReasons: ["项目不属于所在县特色主导产业目录", "项目用地手续未落实，暂不具备实施条件"],
  },
  {
    key: "stt",
    suffix: "STT",
    name: "首台（套）装备保险补偿",
    agency: "jxt",
    fourEyesYuan: 1_000_000,
    window: [0, 5],
    openMonths: 12,
    weight: 0.05,
    mountainOnly: false,
    rejectRate: 0.2,
    decisionLag: [25, 40],
    tranches: [{ share: 1, lag: [10, 20] }],
    approvalReason: "装备列入省首台（套）产品推广应用指导目录，按实际投保年度保费的80%给予补偿",
    rejectionReasons: ["所投保装备未列入省首台（套）产品推广应用指导目录", "保险合同签订时间不在补偿年度内"],
  },
];

/** 字号 (trade names) are built from two characters, one from each list. */
export const TRADE_FIRST = "恒华鼎宏瑞泰嘉鑫博永天中金新联汇诚润盛兴达丰创通越明晟弘卓信".split("");
export const TRADE_SECOND = "远达泰丰盛源诚和昌辉科成益森航宇隆邦峰捷锐德凯".split("");

/** Business lines; `rural` ones are mostly found in counties. */
export const INDUSTRIES: readonly { readonly name: string; readonly rural: boolean }[] = [
  { name: "精密机械", rural: false },
  { name: "智能装备", rural: false },
  { name: "新材料科技", rural: false },
  { name: "电子科技", rural: false },
  { name: "汽车零部件", rural: false },
  { name: "生物医药", rural: false },
  { name: "光电科技", rural: false },
  { name: "环保科技", rural: false },
  { name: "软件技术", rural: false },
  { name: "电气", rural: false },
  { name: "阀门", rural: false },
  { name: "泵业", rural: false },
  { name: "轴承", rural: false },
  { name: "纺织", rural: false },
  { name: "服饰", rural: false },
  { name: "化工", rural: false },
  { name: "五金制品", rural: true },
  { name: "塑业", rural: true },
  { name: "食品", rural: true },
  { name: "竹木制品", rural: true },
  { name: "茶业", rural: true },
  { name: "农业开发", rural: true },
  { name: "文具", rural: true },
  { name: "家居用品", rural: true },
];

export const SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余叶程".split("");
export const GIVEN_NAMES: readonly string[] = [
  "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "霞", "平", "刚",
  "秀英", "桂英", "建华", "建国", "海燕", "晓东", "志强", "丽萍", "国庆", "文斌", "佳怡", "子涵", "浩然", "雨婷", "俊杰", "晓燕",
];

/** Near-miss characters for the demo's keying error in an enterprise name. */
export const TYPO_OF: Readonly<Record<string, string>> = {
  密: "蜜", 械: "戒", 材: "才", 科: "料", 装: "妆", 电: "申", 纺: "访", 药: "约", 业: "亚", 品: "器", 技: "枝", 化: "华",
};
