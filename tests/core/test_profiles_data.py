"""Shared inputs of the profile and web-atlas tests (no tests here): a hand-made city and the Berlin PLR."""
import os

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point, box

from kommunalmonitor.core.profiles.content import IndicatorSpec, ProfileOptions

# A value that appears nowhere else: once suppressed it must not be found in any output.
SENTINEL = 87.6543


def small_city():
    """Six square areas in two districts; area 'c' has only 2 children (suppressed at 3)."""
    geoms = [box(x * 1000, y * 1000, (x + 1) * 1000, (y + 1) * 1000) for y in range(2) for x in range(3)]
    frame = gpd.GeoDataFrame({
        "id": ["a", "b", "c", "d", "e", "f"],
        "name": ["Altstadt", "Bahnhof", "Chausseeviertel", "Dorf", "Elbufer", "Feldmark"],
        "district": ["N", "N", "N", "S", "S", "S"],
        "residents": [1000.0, 2000.0, 250.0, 4000.0, 500.0, 1500.0],
        "children": [100.0, 300.0, 2.0, 200.0, 50.0, 150.0],
        "unemployment": [4.0, 8.0, 6.0, 12.0, 10.0, 2.0],
    }, geometry=geoms, crs="EPSG:25833")
    frame["child_share"] = 100 * frame["children"] / frame["residents"]
    frame.loc[2, "child_share"] = SENTINEL  # pretend the hidden value is this unique number
    return frame


def small_options(min_count=3):
    """Profile options of the small city."""
    return ProfileOptions(
        id_field="id", name_field="name", district_field="district", population_field="residents",
        indicators=[IndicatorSpec("unemployment", "Unemployment", "Arbeitslosigkeit", unit="%"),
                    IndicatorSpec("child_share", "Children", "Kinder", numerator="children", base="residents",
                                  unit="%", higher_is_worse=False)],
        min_count=min_count, reference_date="31.12.2024", source="Test office")


def small_facilities():
    """Two schools as points."""
    return gpd.GeoDataFrame({"kind": ["school", "school"]}, geometry=[Point(500, 500), Point(2500, 1500)],
                            crs="EPSG:25833")


BERLIN_LABELS = {"S1": ("Unemployment", "Arbeitslosigkeit"), "S3": ("Transfer receipt", "Transferbezug"),
                 "S4": ("Child poverty", "Kinderarmut"), "D1": ("Change in unemployment", "Veränderung Arbeitslosigkeit"),
                 "D3": ("Change in transfer receipt", "Veränderung Transferbezug"),
                 "D4": ("Change in child poverty", "Veränderung Kinderarmut")}


def berlin_frame(berlin_mss, berlin_dir):
    """berlin_mss plus resident counts (children under 6, residents 65+) of 30.06.2022."""
    ew = pd.read_csv(os.path.join(berlin_dir, "einwohner_2022h1_plr.csv"), sep=";", encoding="utf-8-sig",
                     dtype={"PLR-ID": str}, na_values=["–"]).rename(columns={"PLR-ID": "PLR_ID"})
    frame = berlin_mss.merge(ew[["PLR_ID", "Gesamt", "unter6", "65undmehr"]], on="PLR_ID", how="left")
    frame["u6_share"] = 100 * frame["unter6"] / frame["Gesamt"]
    frame["o65_share"] = 100 * frame["65undmehr"] / frame["Gesamt"]
    return frame


def berlin_indicators(frame, n=10):
    """Up to ten indicators: six MSS, two count-based shares, context indicators."""
    inds = [IndicatorSpec(k, en, de, unit="%" if k.startswith("S") else "", decimals=1 if k.startswith("S") else 2)
            for k, (en, de) in BERLIN_LABELS.items()]
    inds += [IndicatorSpec("u6_share", "Children under 6", "Kinder unter 6", numerator="unter6", base="Gesamt",
                           unit="%", higher_is_worse=False),
             IndicatorSpec("o65_share", "Residents 65 and over", "Einwohner ab 65", numerator="65undmehr",
                           base="Gesamt", unit="%")]
    context = [c for c in frame.columns if c.startswith("KI_")]
    inds += [IndicatorSpec(c, f"Context {c}", f"Kontext {c}") for c in context[:max(0, n - len(inds))]]
    return inds[:n]


def berlin_options(frame, min_count=20, n=10):
    """Profile options for the Berlin PLR (a strict publication minimum, so some values hide)."""
    return ProfileOptions(id_field="PLR_ID", name_field="PLR_NAME", district_field="BEZ_ID", population_field="EW",
                          indicators=berlin_indicators(frame, n), min_count=min_count,
                          reference_date="31.12.2020", source="Amt für Statistik Berlin-Brandenburg; SenSBW")


def berlin_series(berlin_dir, frame, indicators, periods=("2022-02", "2023-02", "2024-01", "2024-02")):
    """Long series: real resident shares (with counts) for the two share indicators, and for the
    others the 2020 value plus a seeded drift (only to fill 10 indicators × 5 periods for size)."""
    rng = np.random.default_rng(13)
    rows = []
    ids = frame["PLR_ID"].astype(str).to_numpy()
    for p in periods:
        t = pd.read_csv(os.path.join(berlin_dir, "einwohner_plr_zeitreihe",
                                     f"berlin-lor-population-{p}-t2-planning-areas.csv"), dtype={"id": str})
        for ind, col in (("u6_share", "inhabitants_age_below_6"), ("o65_share", "inhabitants_age_above_65")):
            rows.append(pd.DataFrame({"area_id": t["id"], "period": p, "indicator": ind,
                                      "value": 100 * t[col] / t["inhabitants"], "numerator": t[col],
                                      "base": t["inhabitants"]}))
        for ind in indicators:
            if ind.field in ("u6_share", "o65_share"):
                continue
            base = pd.to_numeric(frame[ind.field], errors="coerce").to_numpy(dtype=float)
            rows.append(pd.DataFrame({"area_id": ids, "period": p, "indicator": ind.field,
                                      "value": base + rng.normal(0, 0.3, len(base))}))
    return pd.concat(rows, ignore_index=True)
