"""The synthetic county: six contract tables with known ground truth, deterministic per seed.

:func:`generate_county` builds a county's enterprises (市场主体), persons, roles (法定代表人,
股东, 高管, 分支机构), public-credit records, annual financials and 信易贷 loans, all valid
under :mod:`risk.contract`; :func:`write_county` writes them as CSV files with English or
national Chinese (双公示) headers. The latent risk that drives every record and loan outcome is
returned beside the tables (:attr:`County.hidden_risk`), never inside them.

Parameters of :class:`SynthConfig`
----------------------------------
===========================  ==========  ==========  =============================================
field                        default     valid       meaning
===========================  ==========  ==========  =============================================
``enterprises``              20 000      10–10⁷      number of market entities
``years``                    4           1–30        years of records, financials and loans,
                                                     ending at ``end``
``seed``                     0           ≥ 0         seed of every random draw
``end``                      2026-06-30  2000–2100   as-of date: no event is dated after it
``region``                   ``341100``  GB/T 2260   county code (6 digits), in every USCC
``id_salt``                  (bytes)     ≥ 16 bytes  HMAC salt for the synthetic resident IDs
``county_name``              ``清源县``  2–12 chars  used in enterprise and authority names
``kind_mix``                 .56 .36     sum 1,      shares of company, individual_business,
                             .04 .02 .02 company >0  branch, partnership, social_org
``closed_rate``              0.15        [0, 0.9]    share of enterprises closed by ``end``
``revoked_share``            0.30        [0, 1]      share of closures that are 吊销 (else 注销)
``serial_holder_share``      0.12        [0, 0.9]    share of role slots filled by serial holders
``serial_degree_alpha``      1.6         (1, 10]     Pareto index of serial holders' propensity
``controller_risk_share``    0.5         [0, 1]      ρ: share of risk variance from the controller
``group_share``              0.06        [0, 0.5]    share of companies in holding groups
``minority_stake_share``     0.04        [0, 0.5]    companies with a minority corporate holder
``cycle_rate``               0.002       [0, 0.1]    ownership cycles per company (≥ 1 if > 0)
``legal_rep_change_rate``    0.12        [0, 1]      share of eligible enterprises that change
                                                     their legal rep once
``risk_sigma``               1.0         [0, 3]      σ: s.d. of the log record-rate multiplier
``penalty_rate``             0.10        [0, 5]      行政处罚 per enterprise-year at average risk
``court_rate``               0.04        [0, 2]      被执行 cases per enterprise-year
``abnormal_rate``            0.03        [0, 2]      经营异常 listings per enterprise-year
``positive_rate``            0.10        [0, 5]      许可 + 承诺 + 红名单 per enterprise-year
``person_record_rate``       0.003       [0, 1]      personal 失信被执行人 cases per person-year
``serious_list_rate``        0.004       [0, 0.01)   at most this share of enterprises is put
                                                     on the 严重失信主体名单
``explicit_publicity_share`` 0.30        [0, 1]      share of records stating a 公示截止期
``repair_share``             0.30        [0, 1]      信用修复 probability at average risk
``shell_share``              0.003       [0, 0.05]   换壳 companies per enterprise
``loan_rate``                0.5         [0, 1]      share of active companies and partnerships
                                                     that borrowed (individual businesses: ⅓)
``loan_bad_rate``            0.07        (0, 0.5]    target share of loans 90+ days overdue or
                                                     in default
``linked_effect``            1.5         [0, 5]      default log-odds per log(1 + k) dishonest
                                                     linked parties
``missing_rate``             0.03        [0, 0.5]    share of missing cells per nullable number
===========================  ==========  ==========  =============================================

Notes
-----
The generating process, in order. Each stage draws from its own PCG64 stream spawned from
``seed`` (``SeedSequence(seed, spawn_key=(stage,))``), so one stage's draws never shift
another's. Below, ``z`` is an enterprise's latent risk and ``m = exp(σz − σ²/2)`` (mean 1) the
multiplier of its record rates.

1. **Enterprises.** Kind from ``kind_mix``; age exponential (mean 7 years for companies, 4.5
   for individual businesses; at most 35); GB/T 4754 section from a per-kind mix (branches take
   their parent's); registered capital (万元) log-normal per kind, two significant figures, 2 %
   missing, none for branches; region the county's code (85 %) or a neighbouring one. USCC from
   :func:`~risk.identifiers.make_uscc`: ``91`` (企业), ``92`` (个体工商户), ``51``/``52`` (社会团体,
   民办非企业单位), the county region, and a unique organisation code (``MA`` + 7 characters from
   2015-10, before that 8 digits and the GB 11714 check character).
2. **Persons.** Every role slot (founder and first legal rep, co-shareholder, executive, later
   legal rep) is filled by a fresh person or, with probability ``serial_holder_share``, by one
   of a pool of serial holders drawn by capped Pareto propensities: most persons hold one
   enterprise, a few hold dozens (serial founders, 职业法人). Each person has a latent
   ``u ~ N(0, 1)``.
3. **Latent risk.** ``z = √(1−ρ)·ε + √ρ·u(founder)``: enterprises of the same controller share
   risk. A branch uses its parent's ``z`` in place of ``u``.
4. **Closure** with probability ∝ ``closed_rate`` × kind factor × ``exp(z/2)``, on a day
   uniform over the life; revocation (吊销) rather than deregistration also leans on ``z``.
   Branches are founded while their parent is alive and close with it at the latest.
5. **换壳 shells.** ``shell_share · n`` high-risk companies or individual businesses get a
   forced 失信被执行人 record on a day d (with its 被执行 case and 限高 for company and legal rep).
   A company is re-founded 1–18 months after d whose legal rep (60 %) or ~90 % shareholder
   behind a straw legal rep (40 %) is the dishonest enterprise's legal rep, with ``z ≥ 1``;
   half the dishonest enterprises close afterwards.
6. **Ownership.** Holding groups (size 1 + geometric, mean 4; the root is a 控股集团) form
   chains: each member is held by the previous one or an earlier one (51–100 %, 30 % wholly
   owned). Minority stakes (5–35 %) by an earlier company or partnership. Cross-holdings
   (5–20 %) close 2-cycles or, through a grandparent, 3-cycles between active companies.
7. **Roles.** Every enterprise has exactly one legal rep at a time (owner of an individual
   business, 负责人 of a branch, 执行事务合伙人 of a partnership); ``legal_rep_change_rate`` of
   those older than 18 months change it once: the old role ends the day the new one starts.
   Companies and partnerships have the founder and 0–3 co-founders as shareholders; shares are
   normalised per company to 1 (5 % disclose only 70–100 %) after the corporate stakes, and
   floored to 4 decimals, so they never sum above 1. Individual businesses, branches and
   social organisations have no shareholders. Executives: 执行董事 (the founder, 70 %) and
   监事 for companies, an officer for social organisations, half the new legal reps. Roles of
   closed enterprises keep no end (the registry keeps the last filing).
8. **Records**, decided while the enterprise is alive within ``[end − years, end]``
   (follow-ups may come after closure):
   行政处罚 ~ Poisson(``penalty_rate`` · m · exposure) per domain, the domain mix tilted by
   industry and multiplied by a gamma(0.5) frailty per (enterprise, domain), so some
   enterprises repeat in one domain and others across domains; serious with probability
   ``0.04·m^0.6``, else minor or general about evenly; fines log-normal (medians 0.2 / 2 /
   20 万元; 警告: 0).
   经营异常名录 (``abnormal_rate``): 55 % removed on filing, 60 % of the rest become 严重违法
   失信名单 3 years later. Court (``court_rate``, ∝ m^1.2): 被执行 → 失信被执行人 (probability
   ``0.3·√m``, 1–6 months later, 45 % removed on performance) and 限高 (50 %, for the company
   and, as a person record, its legal rep). 欠税公告 and 重大税收违法 at 12 % and 2 % (∝ m^1.5)
   of ``penalty_rate``; 拖欠农民工工资 at 4 % of it (construction ×6, manufacturing ×1.5, other
   ×0.5). 严重失信主体名单 for ``serious_list_rate · n`` enterprises chosen ∝ exp(z) among
   those with a serious record, 3–17 weeks after it. Positive records at ``positive_rate``:
   行政许可 60 %, 信用承诺 30 % (broken later with probability 0.1·m: 违背信用承诺), 红名单
   10 % (∝ exp(−σz)). Personal 失信被执行人 at ``person_record_rate`` · exp(σu − σ²/2).
   ``explicit_publicity_share`` of records state 公示截止期: the term of the regime
   :func:`~risk.publicity.choose_regime` picks (licences: 5 years), shortened for 30 % of
   terms of a year or more as the ranges allow (never for 失信被执行人); the others leave it
   empty, and ``regime`` is always empty: ingest derives both. General and serious records
   other than court and 经营异常 are repaired (信用修复) with probability ``repair_share ·
   2/(1 + m)``, 3 months (general) or 1 year (serious) + up to a year after the decision.
9. **Financials**, one row per enterprise and complete calendar year alive within the window
   (branches report through their parent): tax paid from size, age and ``z`` (many zeros for
   individual businesses); 纳税信用级别 A/B/C/D from ``−z`` and size, M for most enterprises
   under 18 months, D after 重大税收违法 (that year and the next), C or worse after 欠税;
   individual businesses mostly unrated; insured employees ~ Poisson(size); utility on-time
   rate ~ Beta with mean falling in ``z``; government procurement 0 for ~92 %. Nullable
   numbers are missing at ``missing_rate`` (utility at twice that).
10. **Loans.** ``loan_rate`` of active companies and partnerships (a third of that for
    individual businesses) borrow 1–3 times, chosen ∝ exp(−0.4z + 0.3·log capital), applying
    between their 6th month and 30 days before closure or ``end``. Applications on which the
    enterprise or its legal rep has an active 失信被执行人 or 严重失信 record (per
    :func:`~risk.publicity.active_mask`) are declined and absent: outcomes exist only for funded
    loans. Approved = max(5–9 × average tax of the two prior years (银税互动), 0.1–0.3 ×
    registered capital), in multiples of 5 万元, capped (50 individual business, 500
    partnership, 1000 company); drawn 60–100 % of it. Default log-odds: ``0.5z`` + 0.35 ×
    own negative records of the 24 months before applying (severity-weighted, capped at 6) +
    capacity (−0.25·log(1 + tax), low utility rate, C/D grade, −A grade) + 0.3 if under two
    years old + ``linked_effect · log(1 + k)``, where k counts, before the application, the
    other enterprises of the borrower's legal rep, shareholders and executives and its
    corporate shareholders with a 失信被执行人, 严重失信, 严重违法失信 or 重大税收违法 record,
    and those persons' own 失信 / 限高 records. A self-only model misses that term; a graph model
    can see it. The intercept is solved so the share of loans visibly bad by ``end`` (defaults
    surface 2–14 months after application, so recent loans still perform) is
    ``loan_bad_rate``. Bad loans are 90 days overdue, default 3–9 months later if by ``end``;
    a quarter of those that do not default are cured 1–4 months later (performing again);
    some running loans are 30 days overdue; status_date is the bad day, the cure, the
    maturity of a repaid loan, or ``end``; overdue_90_date and default_date keep the history.

No event (founded, closed, start, end, decided, repaired, removed, applied, status_date) lies
after ``end``; ``publicity_end`` is a deadline fixed at decision and may lie beyond it.
Synthetic resident IDs are valid GB 11643 numbers that exist only inside
:func:`generate_county`: persons carry their HMAC hash and mask only.

Modules
-------
:mod:`~risk.synth.config` the parameters and the result; :mod:`~risk.synth.vocabulary` codes,
mixes and name parts; :mod:`~risk.synth.state` the arrays the stages fill, with
:mod:`~risk.synth.days` and :mod:`~risk.synth.people` (persons, resident IDs, regions); the
stages :mod:`~risk.synth.enterprises` (1–2), :mod:`~risk.synth.hidden_risk` (3–5),
:mod:`~risk.synth.ownership` (6–7), :mod:`~risk.synth.records` (8), :mod:`~risk.synth.loans`
(9–10); :mod:`~risk.synth.generate` runs them and :mod:`~risk.synth.writing` turns the arrays
into the contract's frames and CSV files.
"""

from risk.synth.config import County, SynthConfig
from risk.synth.generate import generate_county
from risk.synth.writing import write_county

__all__ = ["County", "SynthConfig", "generate_county", "write_county"]
