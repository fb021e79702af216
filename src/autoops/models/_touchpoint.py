"""Touchpoints (触点) and the public/private domain they belong to."""

from __future__ import annotations

from enum import Enum

__all__ = ["Domain", "TouchpointKind"]


class Domain(str, Enum):
    """公域 public domain (rented traffic) or 私域 private domain (owned reach).

    Examples:
        >>> Domain.PRIVATE.value
        'private'
    """

    PUBLIC = "public"
    PRIVATE = "private"


class TouchpointKind(str, Enum):
    """Where an interaction arrived, and its domain (``kind.domain``).

    ================  ==============================  =======
    kind              中文                            domain
    ================  ==============================  =======
    app               品牌 App                         private
    mini_program      小程序                           private
    website           官网                             private
    official_account  公众号                           private
    wecom             企业微信                         private
    wechat_channels   视频号                           public
    douyin            抖音                             public
    xiaohongshu       小红书                           public
    bilibili          哔哩哔哩                         public
    vertical_media    汽车之家等垂直媒体               public
    ecommerce         电商平台                         public
    showroom          展厅 (含数字展厅)                private
    hotline           400 热线                         private
    head_unit         车机                             private
    dealer_crm        经销商 CRM                       private
    offline_event     线下活动                         public
    other             其他                             public
    ================  ==============================  =======

    The private domain is what the brand owns and can reach again at low cost:
    its app, mini programs, website, official accounts, WeCom, showrooms, the
    hotline, the head unit and the dealer CRM. WeChat Channels is a public
    feed even though it sits inside WeChat.

    Examples:
        >>> TouchpointKind("wecom").domain
        <Domain.PRIVATE: 'private'>
        >>> TouchpointKind.DOUYIN.domain.value
        'public'
    """

    APP = "app"
    MINI_PROGRAM = "mini_program"
    WEBSITE = "website"
    OFFICIAL_ACCOUNT = "official_account"
    WECOM = "wecom"
    WECHAT_CHANNELS = "wechat_channels"
    DOUYIN = "douyin"
    XIAOHONGSHU = "xiaohongshu"
    BILIBILI = "bilibili"
    VERTICAL_MEDIA = "vertical_media"
    ECOMMERCE = "ecommerce"
    SHOWROOM = "showroom"
    HOTLINE = "hotline"
    HEAD_UNIT = "head_unit"
    DEALER_CRM = "dealer_crm"
    OFFLINE_EVENT = "offline_event"
    OTHER = "other"

    @property
    def domain(self) -> Domain:
        """The domain this touchpoint belongs to (see the class table).

        Examples:
            >>> TouchpointKind.APP.domain is Domain.PRIVATE
            True
        """
        return Domain.PRIVATE if self.value in _PRIVATE else Domain.PUBLIC

    @classmethod
    def private(cls) -> tuple[TouchpointKind, ...]:
        """Every private-domain touchpoint, in declaration order.

        Examples:
            >>> [k.value for k in TouchpointKind.private()][:3]
            ['app', 'mini_program', 'website']
        """
        return tuple(k for k in cls if k.domain is Domain.PRIVATE)


_PRIVATE = frozenset(
    {
        "app",
        "mini_program",
        "website",
        "official_account",
        "wecom",
        "showroom",
        "hotline",
        "head_unit",
        "dealer_crm",
    }
)
