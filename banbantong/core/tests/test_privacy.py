from banbantong.core.privacy import mask_id_number, mask_phone


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("") == ""
    assert mask_phone("1234") == "***4"


def test_mask_id_number() -> None:
    assert mask_id_number("360822198001011234") == "360***********1234"
    assert mask_id_number("36082219800101123X").endswith("123X")
