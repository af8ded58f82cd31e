"""Ready pipeline templates: the general sales pipeline and the industry ones of domain.md."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StageTemplate:
    """A stage as shipped: key, names, win probability (%), days before it counts as stalled."""

    key: str
    name_vi: str
    name_en: str
    probability: int
    stalled_after_days: int | None
    is_won: bool = False
    is_lost: bool = False


@dataclass(frozen=True)
class PipelineTemplate:
    """A pipeline as shipped."""

    key: str
    name_vi: str
    name_en: str
    stages: tuple[StageTemplate, ...]


def _closing() -> tuple[StageTemplate, StageTemplate]:
    return (StageTemplate("won", "Thắng", "Won", 100, None, is_won=True),
            StageTemplate("lost", "Thua", "Lost", 0, None, is_lost=True))


GENERAL = PipelineTemplate("general", "Bán hàng chung", "General sales", (
    StageTemplate("new", "Mới", "New", 10, 3),
    StageTemplate("contacted", "Đã liên hệ", "Contacted", 20, 7),
    StageTemplate("qualified", "Có nhu cầu", "Qualified", 40, 10),
    StageTemplate("quote", "Báo giá", "Quote", 60, 7),
    StageTemplate("negotiation", "Đàm phán", "Negotiation", 80, 10),
    *_closing(),
))

MANUFACTURING = PipelineTemplate("manufacturing", "Sản xuất / phân phối / bán lẻ", "Manufacturing / distribution", (
    StageTemplate("lead", "Khách hàng tiềm năng", "Lead", 10, 5),
    StageTemplate("opportunity", "Cơ hội", "Opportunity", 30, 10),
    StageTemplate("sales_activity", "Hoạt động bán hàng", "Sales activity", 50, 10),
    StageTemplate("contract", "Hợp đồng", "Contract", 80, 14),
    StageTemplate("handover", "Bàn giao", "Handover", 95, 14),
    *_closing(),
))

SHIPPING = PipelineTemplate("shipping", "Vận tải / logistics", "Shipping", (
    StageTemplate("prospect", "Tìm khách hàng", "Find customer", 10, 5),
    StageTemplate("approach", "Tiếp cận", "Approach", 20, 7),
    StageTemplate("quote", "Báo giá", "Quote", 50, 7),
    StageTemplate("negotiation", "Thương lượng", "Negotiation", 70, 10),
    StageTemplate("contract", "Chốt hợp đồng", "Close contract", 90, 14),
    *_closing(),
))

REAL_ESTATE = PipelineTemplate("real_estate", "Bất động sản", "Real estate", (
    StageTemplate("raw_lead", "Lead thô", "Raw lead", 5, 3),
    StageTemplate("opportunity", "Cơ hội", "Opportunity", 20, 7),
    StageTemplate("prospect", "Khách tiềm năng", "Prospect", 40, 10),
    StageTemplate("contract", "Hợp đồng", "Contract", 85, 14),
    *_closing(),
))

EDUCATION = PipelineTemplate("education", "Giáo dục", "Education", (
    StageTemplate("approach", "Tiếp cận", "Approach", 10, 5),
    StageTemplate("counselling", "Tư vấn", "Counselling", 30, 7),
    StageTemplate("trial", "Học thử / kiểm tra đầu vào / đặt cọc", "Trial / test / deposit", 60, 10),
    StageTemplate("enrolled", "Nhập học", "Enrolled", 90, 14),
    *_closing(),
))

RECRUITMENT = PipelineTemplate("recruitment", "Tư vấn tuyển dụng", "Recruitment consulting", (
    StageTemplate("customer", "Khách hàng", "Customer", 10, 5),
    StageTemplate("contact_person", "Người liên hệ", "Contact person", 20, 7),
    StageTemplate("contract", "Hợp đồng", "Contract", 50, 14),
    StageTemplate("hiring_request", "Yêu cầu tuyển dụng", "Hiring request", 70, 14),
    StageTemplate("candidates", "Ứng viên", "Candidates", 85, 14),
    *_closing(),
))

TEMPLATES = {t.key: t for t in (GENERAL, MANUFACTURING, SHIPPING, REAL_ESTATE, EDUCATION, RECRUITMENT)}
