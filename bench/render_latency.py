"""Time rendering alone: one business license page, data in, PDF bytes out.

The font is registered and one page rendered first (the warm-up pays the font
parsing), then 200 licenses with varied holders, addresses, scopes and QR URLs
are rendered one after another; the median and 95th percentile per page are
printed, with the mean PDF size.

    .venv/bin/python bench/render_latency.py [--pages 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date, timedelta

from trustsvc.documents.fonts import find_cjk_font, load_cjk_font
from trustsvc.documents.render import LicenseDocument, render_license

_DISTRICTS = ("西湖区", "上城区", "拱墅区", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区")
_TRADES = ("科技", "贸易", "餐饮管理", "建筑工程", "文化传媒", "医疗器械", "物流", "信息技术")
_SCOPE = (
    "技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广",
    "软件开发",
    "信息系统集成服务",
    "数据处理和存储支持服务",
    "计算机系统服务",
    "网络技术服务",
    "信息技术咨询服务",
    "日用百货销售",
    "办公用品销售",
    "会议及展览服务",
    "广告设计、代理",
    "食品销售（仅销售预包装食品）",
)


def business_license(rng: random.Random, index: int) -> LicenseDocument:
    district = rng.choice(_DISTRICTS)
    holder = f"杭州{district[:2]}{rng.choice(_TRADES)}有限公司第{index}分公司"
    scope = "；".join(rng.sample(_SCOPE, rng.randint(3, len(_SCOPE))))
    issued = date(2026, 1, 1) + timedelta(days=rng.randrange(365))
    serial = f"{rng.randrange(10**15):015d}"
    return LicenseDocument(
        title_zh="营业执照",
        title_en="Business License",
        style="table",
        rows=(
            ("统一社会信用代码", f"91330106MA{rng.randrange(10**7):07d}X"),
            ("名称", holder),
            ("类型", "有限责任公司（自然人投资或控股）"),
            ("法定代表人", rng.choice(("张三", "李四", "王五", "欧阳明月"))),
            ("注册资本", f"{rng.randint(1, 9999)}万元人民币"),
            ("成立日期", f"{issued.year}年{issued.month}月{issued.day}日"),
            ("住所", f"浙江省杭州市{district}文三路 {rng.randint(1, 999)} 号 {index} 室"),
            (
                "经营范围",
                f"一般项目：{scope}（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）。",
            ),
        ),
        holder_line=f"持证主体：{holder}",
        issuer_name=f"杭州市{district}市场监督管理局",
        issue_date=issued,
        valid_from=issued,
        valid_until=None if index % 3 else issued + timedelta(days=3650),
        license_number=serial,
        identifier=f"1.2.156.3005.2.11100000000013338W011.11330100MB00000017.{serial}.001.S",
        verify_url=f"https://licenses.example.gov.cn/v/{rng.randbytes(60).hex()}",
        seal_caption="电子证照专用章",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()

    rng = random.Random(20261122)
    documents = [business_license(rng, index) for index in range(args.pages)]

    started = time.perf_counter()
    font_name = load_cjk_font(find_cjk_font())
    render_license(documents[0], font_name)
    warm_up = time.perf_counter() - started

    timings = []
    sizes = []
    for document in documents:
        started = time.perf_counter()
        rendered = render_license(document, font_name)
        timings.append((time.perf_counter() - started) * 1000)
        sizes.append(len(rendered.pdf))

    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)]
    print(f"warm-up (font registration + first page): {warm_up * 1000:.0f} ms")
    print(f"{len(timings)} pages: median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms")
    print(f"mean PDF size: {statistics.mean(sizes) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
