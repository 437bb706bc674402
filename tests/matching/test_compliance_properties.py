"""Properties of the posting rules (matching/compliance.py) over generated postings: a posting that forbids fees is
never refused for them, however it lists, brackets or quotes them, while one that asks for the same fee still is;
a fee named with its amount after honest wording is refused; someone else paying after the amount excuses a fee
unless the clause makes it a refund or a part; and no text, wage or age makes the check raise."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from matching.compliance import check_posting, normalise_text
from tests.matching.test_compliance import HONEST_FEE_WORDING

# A fee term of each fee rule (fee.deposit, fee.seeker_fee, fee.medical_exam).
FEES = ["押金", "保证金", "风险金", "报名费", "介绍费", "中介费", "推荐费", "服装费", "培训费", "培训费用", "体检费"]
# How postings say they take none of it: before the list, or after it.
FORBIDDING_BEFORE = ["不收", "不收取", "严禁收取", "禁止收取", "绝不收取", "不会收取", "从不向求职者收取",
                     "不收取求职者", "不向员工收取任何", "无需交", "免收", "拒绝收取一切"]
FORBIDDING_AFTER = ["一律免收", "全免", "：无", ": 无", "为0元", "均不收取"]
JOINERS = ["、", "和", "及", "/", "、 ", " 、", " / "]
QUOTES = ["{}", "“{}”", '"{}"', "「{}」", "'{}'"]
BRACKETS = ["（{}）", "({})", "【{}】", "[{}]", " ({}) "]
# What stands around the sentence in a posting: other clauses, never another fee.
OPENINGS = ["", "本公司", "郑重承诺：", "招聘普工。", "包吃包住，"]
CLOSINGS = ["", "。", "。包吃包住", "！月薪6000", "，谨防上当"]


@st.composite
def fee_lists(draw: st.DrawFn) -> str:
    # Two at most: a negation reaches over the rules' window (24 characters) only, so three quoted fees after a long
    # 从不向求职者收取任何费用 fall out of its reach, by design.
    terms = draw(st.lists(st.sampled_from(FEES), min_size=1, max_size=2, unique=True))
    quote = draw(st.sampled_from(QUOTES))
    return draw(st.sampled_from(JOINERS)).join(quote.format(term) for term in terms)


@st.composite
def forbidding_postings(draw: st.DrawFn) -> str:
    fees = draw(fee_lists())
    form = draw(st.integers(0, 2))
    if form == 0:
        sentence = draw(st.sampled_from(FORBIDDING_BEFORE)) + fees
    elif form == 1:
        sentence = fees + draw(st.sampled_from(FORBIDDING_AFTER))
    else:  # "no fee of any kind (deposit, …)"
        sentence = draw(st.sampled_from(FORBIDDING_BEFORE)) + "任何费用" + draw(st.sampled_from(BRACKETS)).format(fees)
    return draw(st.sampled_from(OPENINGS)) + sentence + draw(st.sampled_from(CLOSINGS))


@given(forbidding_postings(), st.booleans())
def test_a_posting_that_forbids_fees_is_not_refused_for_them(text: str, in_title: bool) -> None:
    verdict = check_posting(text, "") if in_title else check_posting("招聘普工", text)
    assert not [f for f in verdict.findings if f.rule_id.startswith("fee.")], (text, verdict.findings)


@given(st.sampled_from(FEES), st.sampled_from(["入职需交{}300元", "{}200，干满三个月退", "需缴纳{}", "无经验可，{}300",
                                                 "不收押金，{}500", "“{}”300元", "（{}）500元", "{} 300元"]),
       st.sampled_from(OPENINGS))
def test_a_posting_that_asks_for_a_fee_is_refused(fee: str, template: str, opening: str) -> None:
    # The other side of the property above: list material around a fee (brackets, quotes, spaces) or a negation
    # of something else before it never excuses the fee itself.
    if fee == "押金" and template.startswith("不收押金"):
        return
    verdict = check_posting("招聘普工", opening + template.format(fee))
    assert verdict.outcome == "reject", (template.format(fee), verdict.findings)


# An amount as postings write it: digits with or without a unit, currency or bracket, or in Chinese numerals.
AMOUNT_FORMS = ["{n}元", "{n}", "{n}块", "￥{n}", "¥{n}", "：{n}元", "（{n}元）", " {n}元", "—{n}", "/{n}",
                "人民币{n}元", "约{n}元"]
CHINESE_AMOUNTS = ["三百元", "五十", "两千块", "一百", "伍佰元", "八十元"]


@st.composite
def amounts(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(st.sampled_from(CHINESE_AMOUNTS))
    return draw(st.sampled_from(AMOUNT_FORMS)).format(n=draw(st.integers(1, 99_999)))


# What ends a posting's sentence before the next one starts.
SENTENCE_ENDS = ["，", "。", "；", "\n", "! "]


@given(st.one_of(st.sampled_from(HONEST_FEE_WORDING), forbidding_postings()), st.sampled_from(SENTENCE_ENDS),
       st.sampled_from(FEES), amounts(), st.booleans())
def test_a_fee_with_its_amount_after_honest_wording_is_refused(honest: str, end: str, fee: str, amount: str,
                                                               asked: bool) -> None:
    # Whatever an honest posting says first (no fees, the company pays), a fee named with its amount after it is
    # asked for: no denial or payer before reaches over the sentence's end to excuse it.
    text = honest + end + ("需交" if asked else "") + fee + amount
    verdict = check_posting("招聘普工", text)
    assert verdict.outcome == "reject", (text, verdict.findings)


PAYERS = ["由公司承担", "公司承担", "，由公司全额承担", "由企业支付", "厂里出", "由单位承担"]
# What makes "the company pays" a refund or a part payment: the job seeker pays first.
TAKEN_BACK = ["，干满三个月", "，满半年后", "，离职扣回", "，未满一年自理", "一半", "，员工承担100元", "，从工资扣",
              "（试用期内离职不退）", "，工资中扣除"]


@given(st.sampled_from(FEES), amounts(), st.sampled_from(PAYERS), st.sampled_from(TAKEN_BACK),
       st.sampled_from(OPENINGS))
def test_someone_else_paying_after_the_amount_excuses_a_fee_unless_the_clause_takes_it_back(
        fee: str, amount: str, payer: str, taken_back: str, opening: str) -> None:
    paid = opening + fee + amount + payer
    assert check_posting("招聘普工", paid).findings == (), paid
    refunded = paid + taken_back
    verdict = check_posting("招聘普工", refunded)
    assert verdict.outcome == "reject", (refunded, verdict.findings)


WAGES = st.one_of(st.none(), st.integers(-10, 10**7), st.floats(allow_nan=False, allow_infinity=False, width=32))


@given(st.text(max_size=80), st.text(max_size=80), st.lists(st.text(max_size=10), max_size=3), WAGES, WAGES,
       st.sampled_from([None, "hour", "day", "month", "piece"]), st.sampled_from([None, "", "5", "500107", "510107",
                                                                                 "110105", "99"]),
       st.one_of(st.none(), st.integers(-5, 120)), st.one_of(st.none(), st.integers(-5, 120)))
def test_no_posting_makes_the_check_raise(title: str, description: str, benefits: list[str], wage_min: float | None,
                                          wage_max: float | None, unit: str | None, adcode: str | None,
                                          age_min: int | None, age_max: int | None) -> None:
    verdict = check_posting(title, description, benefits, wage_min, wage_max, unit, adcode, age_min, age_max)
    assert verdict.outcome == ("reject" if any(f.outcome == "reject" for f in verdict.findings)
                               else "hold" if verdict.findings else "ok")
    for finding in verdict.findings:
        # An excerpt is the posting's own (normalised) text or value: it explains, it never invents.
        if finding.field in ("title", "description"):
            source = normalise_text(title if finding.field == "title" else description).replace("\n", " ")
            assert finding.excerpt.strip("…") in source
