"""The curated inputs of `scripts/build_country_data.py`, each with where it comes from.

Everything `pycountry` cannot tell us lives here: the names GOV.UK uses, Royal Mail's European zone,
the synonyms people actually write on envelopes, extra Welsh names and the SMS rate multipliers. Edit
this file, then run the generator; never edit the JSON it writes.
"""

from __future__ import annotations

UK_ALPHA_2 = frozenset({"GB", "GG", "JE", "IM"})
"""Royal Mail delivers to the Crown dependencies as UK mail, so their letters are not international."""

GOVUK_NAMES = {
    # Canonical names where the GOV.UK country and territory registers (and so GOV.UK Notify) differ
    # from ISO 3166 as published by pycountry; everything else keeps pycountry's common name or name.
    "BN": "Brunei",
    "BO": "Bolivia",
    "BS": "The Bahamas",
    "CD": "Congo (Democratic Republic)",
    "CI": "Ivory Coast",
    "CV": "Cape Verde",
    "FK": "Falkland Islands",
    "FM": "Micronesia",
    "GM": "The Gambia",
    "GS": "South Georgia and South Sandwich Islands",
    "IR": "Iran",
    "KN": "St Kitts and Nevis",
    "KP": "North Korea",
    "KR": "South Korea",
    "LA": "Laos",
    "LC": "St Lucia",
    "MD": "Moldova",
    "MF": "Saint-Martin (French part)",
    "MM": "Myanmar (Burma)",
    "PM": "St Pierre & Miquelon",
    "PN": "Pitcairn, Henderson, Ducie and Oeno Islands",
    "PS": "Occupied Palestinian Territories",
    "RU": "Russia",
    "SH": "Saint Helena",
    "SY": "Syria",
    "TL": "East Timor",
    "TR": "Turkey",
    "TW": "Taiwan",
    "TZ": "Tanzania",
    "VA": "Vatican City",
    "VC": "St Vincent",
    "VE": "Venezuela",
    "VG": "British Virgin Islands",
    "VI": "United States Virgin Islands",
    "VN": "Vietnam",
}

EXTRA_TERRITORIES = (
    # Places GOV.UK lists as territories of their own but ISO 3166-1 does not; Royal Mail prices the
    # Atlantic and Mediterranean islands as Europe.
    "Ascension",
    "Azores",
    "Balearic Islands",
    "British Antarctic Territory",
    "Canary Islands",
    "Ceuta",
    "Corsica",
    "Easter Island",
    "Kosovo",
    "Madeira",
    "Melilla",
    "Tristan da Cunha",
)

EUROPE = frozenset(
    {
        # Royal Mail international zones, Europe (royalmail.com/international-zones#europe), with canonical
        # names, as transcribed by alphagov/notifications-utils (countries/_data/europe.txt).
        *("Albania", "Andorra", "Armenia", "Austria", "Azerbaijan", "Azores", "Balearic Islands", "Belarus"),
        *("Belgium", "Bosnia and Herzegovina", "Bulgaria", "Canary Islands", "Corsica", "Croatia", "Cyprus"),
        *("Czechia", "Denmark", "Estonia", "Faroe Islands", "Finland", "France", "Georgia", "Germany"),
        *("Gibraltar", "Greece", "Greenland", "Hungary", "Iceland", "Ireland", "Italy", "Kazakhstan", "Kosovo"),
        *("Kyrgyzstan", "Latvia", "Liechtenstein", "Lithuania", "Luxembourg", "Madeira", "Malta", "Moldova"),
        *("Monaco", "Montenegro", "Netherlands", "North Macedonia", "Norway", "Poland", "Portugal", "Romania"),
        *("Russia", "San Marino", "Serbia", "Slovakia", "Slovenia", "Spain", "Sweden", "Switzerland"),
        *("Tajikistan", "Turkey", "Turkmenistan", "Ukraine", "Uzbekistan", "Vatican City"),
    }
)

HISTORIC_SUCCESSORS = {
    # ISO 3166-3 former countries (pycountry.historic_countries) whose name still gets mail to one place.
    "AIDJ": "DJ",
    "BQAQ": "British Antarctic Territory",
    "BUMM": "MM",
    "BYAA": "BY",
    "CSHH": "CZ",
    "DDDE": "DE",
    "DYBJ": "BJ",
    "FXFR": "FR",
    "HVBF": "BF",
    "NHVU": "VU",
    "RHZW": "ZW",
    "SKIN": "IN",
    "TPTL": "TL",
    "VDVN": "VN",
    "YDYE": "YE",
    "ZRCD": "CD",
}

_UK = "United Kingdom"
SYNONYMS = {
    # What people write on envelopes: short forms, local names, islands and former names. Curated for
    # notify from common usage and the GOV.UK registers; a curated spelling overrides a generated one.
    **dict.fromkeys(
        ("UK", "U.K.", "G.B.", "Great Britain", "Britain", "England", "Scotland", "Wales", "Northern Ireland"),
        _UK,
    ),
    **dict.fromkeys(("N Ireland", "North Ireland", "NI", "NIR", "SCT", "WLS", "ENG", "Channel Islands"), _UK),
    **dict.fromkeys(("Alderney", "Sark", "Herm", "Jethou", "Brecqhou", "Isles of Scilly", "Ellan Vannin"), _UK),
    **dict.fromkeys(("Bailiwick of Jersey", "Bailiwick of Guernsey"), _UK),
    **dict.fromkeys(("Republic of Ireland", "Rep of Ireland", "Irish Republic", "ROI", "Eire"), "Ireland"),
    **dict.fromkeys(("Southern Ireland", "South Ireland"), "Ireland"),
    **dict.fromkeys(("USA", "U.S.A.", "U.S.", "America", "United States America", "Hawaii", "Alaska"), "United States"),
    **dict.fromkeys(("Holland", "Nederland"), "Netherlands"),
    **dict.fromkeys(("Deutschland", "West Germany", "East Germany", "Bundesrepublik Deutschland"), "Germany"),
    **dict.fromkeys(("España", "Reino de España"), "Spain"),
    **dict.fromkeys(("Schweiz", "Suisse", "Svizzera", "Confoederatio Helvetica"), "Switzerland"),
    **dict.fromkeys(("Belgique", "België", "Belgien"), "Belgium"),
    **dict.fromkeys(("Österreich", "Republik Österreich"), "Austria"),
    **dict.fromkeys(("Hellas", "Ellada", "Hellenic Republic"), "Greece"),
    **dict.fromkeys(("Nippon", "Nihon"), "Japan"),
    **dict.fromkeys(("Türkiye", "Republic of Türkiye"), "Turkey"),
    **dict.fromkeys(("UAE", "U.A.E.", "Abu Dhabi", "Dubai", "Sharjah", "Ajman", "Fujairah"), "United Arab Emirates"),
    **dict.fromkeys(("Ras al-Khaimah", "Umm al-Quwain"), "United Arab Emirates"),
    **dict.fromkeys(("Korea", "Republic of Korea"), "South Korea"),
    **dict.fromkeys(("DPRK", "Democratic People's Republic of Korea"), "North Korea"),
    **dict.fromkeys(("Burma", "Myanmar"), "Myanmar (Burma)"),
    **dict.fromkeys(("Vatican", "Holy See", "Vatican City State"), "Vatican City"),
    **dict.fromkeys(("Falklands", "The Falklands", "Falkland"), "Falkland Islands"),
    **dict.fromkeys(("Timor Leste", "Timor-Leste"), "East Timor"),
    **dict.fromkeys(
        ("DRC", "DR Congo", "Democratic Republic of Congo", "Congo-Kinshasa", "Zaire"), "Congo (Democratic Republic)"
    ),
    **dict.fromkeys(("Congo-Brazzaville", "Republic of Congo"), "Congo"),
    **dict.fromkeys(("Palestine", "Palestinian Territories", "Gaza", "West Bank"), "Occupied Palestinian Territories"),
    **dict.fromkeys(("Republic of China", "Chinese Taipei", "Formosa"), "Taiwan"),
    **dict.fromkeys(("Saint Kitts", "St Kitts", "St Christopher and Nevis"), "St Kitts and Nevis"),
    **dict.fromkeys(("Saint Vincent", "St Vincent and the Grenadines"), "St Vincent"),
    **dict.fromkeys(("Saint Martin", "St Martin"), "Saint-Martin (French part)"),
    **dict.fromkeys(("Bonaire", "Sint Eustatius", "Saba", "Caribbean Netherlands"), "Bonaire, Sint Eustatius and Saba"),
    **dict.fromkeys(
        ("Pitcairn Islands", "Pitcairn Island", "Henderson Island", "Ducie Island", "Oeno Island"),
        "Pitcairn, Henderson, Ducie and Oeno Islands",
    ),
    **dict.fromkeys(("South Georgia", "South Sandwich Islands"), "South Georgia and South Sandwich Islands"),
    **dict.fromkeys(("BVI",), "British Virgin Islands"),
    **dict.fromkeys(("US Virgin Islands", "USVI", "American Virgin Islands"), "United States Virgin Islands"),
    **dict.fromkeys(
        ("Canaries", "Islas Canarias", "Tenerife", "Gran Canaria", "Lanzarote", "Fuerteventura"), "Canary Islands"
    ),
    **dict.fromkeys(("La Palma", "La Gomera", "El Hierro", "La Graciosa"), "Canary Islands"),
    **dict.fromkeys(
        ("Balearics", "Islas Baleares", "Illes Balears", "Mallorca", "Majorca", "Menorca"), "Balearic Islands"
    ),
    **dict.fromkeys(("Minorca", "Ibiza", "Formentera"), "Balearic Islands"),
    **dict.fromkeys(("Açores", "Autonomous Region of the Azores"), "Azores"),
    **dict.fromkeys(("Região Autónoma da Madeira", "Autonomous Region of Madeira"), "Madeira"),
    **dict.fromkeys(("Corse",), "Corsica"),
    **dict.fromkeys(("Ascension Island",), "Ascension"),
    **dict.fromkeys(("Tristan",), "Tristan da Cunha"),
    **dict.fromkeys(("St Helena",), "Saint Helena"),
    **dict.fromkeys(("Rapa Nui",), "Easter Island"),
    **dict.fromkeys(("Republic of Kosovo", "Kosova"), "Kosovo"),
    **dict.fromkeys(("Bosnia", "BiH", "Bosnia-Herzegovina"), "Bosnia and Herzegovina"),
    **dict.fromkeys(("Macedonia",), "North Macedonia"),
    **dict.fromkeys(("Swaziland",), "Eswatini"),
    **dict.fromkeys(("Czech Republic", "Czechoslovakia", "Česko"), "Czechia"),
    **dict.fromkeys(("Kazakstan",), "Kazakhstan"),
    **dict.fromkeys(("Byelorussia",), "Belarus"),
    **dict.fromkeys(("Moldavia",), "Moldova"),
    **dict.fromkeys(("Ceylon",), "Sri Lanka"),
    **dict.fromkeys(("Siam",), "Thailand"),
    **dict.fromkeys(("Persia",), "Iran"),
    **dict.fromkeys(("Rhodesia",), "Zimbabwe"),
    **dict.fromkeys(("Kampuchea",), "Cambodia"),
    **dict.fromkeys(("Abyssinia",), "Ethiopia"),
    **dict.fromkeys(("Macau",), "Macao"),
    **dict.fromkeys(("Hong Kong SAR",), "Hong Kong"),
    **dict.fromkeys(("Aotearoa", "NZ"), "New Zealand"),
    **dict.fromkeys(("Brasil",), "Brazil"),
    **dict.fromkeys(("México",), "Mexico"),
    **dict.fromkeys(("Italia",), "Italy"),
    **dict.fromkeys(("Sverige",), "Sweden"),
    **dict.fromkeys(("Norge",), "Norway"),
    **dict.fromkeys(("Danmark",), "Denmark"),
    **dict.fromkeys(("Suomi",), "Finland"),
    **dict.fromkeys(("Polska",), "Poland"),
    **dict.fromkeys(("Magyarország",), "Hungary"),
    **dict.fromkeys(("Hrvatska",), "Croatia"),
    **dict.fromkeys(("Ísland",), "Iceland"),
    **dict.fromkeys(("Bharat",), "India"),
    **dict.fromkeys(("Trinidad",), "Trinidad and Tobago"),
    **dict.fromkeys(("Antigua",), "Antigua and Barbuda"),
    **dict.fromkeys(("Cocos Islands", "Keeling Islands"), "Cocos (Keeling) Islands"),
    **dict.fromkeys(("Aland", "Åland", "Ahvenanmaa"), "Åland Islands"),
    **dict.fromkeys(("Lubnan", "Lubnān"), "Lebanon"),
}

WELSH_NAMES = {
    # Welsh names beyond pycountry's `cy` catalogue: the UK's own nations, and the Welsh spellings GOV.UK
    # Notify recognises (alphagov/notifications-utils countries/_data/welsh-names.json) where they differ.
    **dict.fromkeys(("Cymru", "Lloegr", "Yr Alban", "Gogledd Iwerddon", "Prydain Fawr", "Ynysoedd y Sianel"), _UK),
    "Affganistan": "Afghanistan",
    "Antigwa a Barbiwda": "Antigua and Barbuda",
    "Bhwtan": "Bhutan",
    "Bolifia": "Bolivia",
    "Cabo Verde": "Cape Verde",
    "Y Comoros": "Comoros",
    "Y Weriniaeth Tsiec": "Czechia",
    "Gweriniaeth Ddemocrataidd Congo": "Congo (Democratic Republic)",
    "Gweriniaeth y Congo": "Congo",
    "Dwyrain Timor": "East Timor",
    "Y Gambia": "The Gambia",
    "Gwlad Groeg": "Greece",
    "Gini": "Guinea",
    "Gini Gyhydeddol": "Equatorial Guinea",
    "Gaiana": "Guyana",
    "Hondwras": "Honduras",
    "Iorddonen": "Jordan",
    "Libia": "Libya",
    "Madagasgar": "Madagascar",
    "Nicaragwa": "Nicaragua",
    "Gogledd Corea": "North Korea",
    "De Corea": "South Korea",
    "Paragwâi": "Paraguay",
    "Pilipinas": "Philippines",
    "Gweriniaeth Macedonia": "North Macedonia",
    "Rwsia": "Russia",
    "São Tomé a Príncipe": "Sao Tome and Principe",
    "De Sudan": "South Sudan",
    "Swrinam": "Suriname",
    "Gwlad Swazi": "Eswatini",
    "Trinidad a Thobago": "Trinidad and Tobago",
    "Wcráin": "Ukraine",
    "Unol Daleithiau America": "United States",
    "Wrwgwái": "Uruguay",
    "Feneswela": "Venezuela",
    "Siapan": "Japan",
    "Gweriniaeth Iwerddon": "Ireland",
}

# Royal Mail postcode areas: the 121 in the UK, the Crown dependencies (GY, JE, IM), BFPO's BF and the
# non-geographic BX. Girobank's GIR 0AA is retired and deliberately absent.
UK_POSTCODE_AREAS = frozenset({
    "AB", "AL", "B", "BA", "BB", "BD", "BF", "BH", "BL", "BN", "BR", "BS", "BT", "BX", "CA", "CB", "CF", "CH",
    "CM", "CO", "CR", "CT", "CV", "CW", "DA", "DD", "DE", "DG", "DH", "DL", "DN", "DT", "DY", "E", "EC", "EH",
    "EN", "EX", "FK", "FY", "G", "GL", "GU", "GY", "HA", "HD", "HG", "HP", "HR", "HS", "HU", "HX", "IG", "IM",
    "IP", "IV", "JE", "KA", "KT", "KW", "KY", "L", "LA", "LD", "LE", "LL", "LN", "LS", "LU", "M", "ME", "MK",
    "ML", "N", "NE", "NG", "NN", "NP", "NR", "NW", "OL", "OX", "PA", "PE", "PH", "PL", "PO", "PR", "RG", "RH",
    "RM", "S", "SA", "SE", "SG", "SK", "SL", "SM", "SN", "SO", "SP", "SR", "SS", "ST", "SW", "SY", "TA", "TD",
    "TF", "TN", "TQ", "TR", "TS", "TW", "UB", "W", "WA", "WC", "WD", "WF", "WN", "WR", "WS", "WV", "YO", "ZE",
})  # fmt: skip

RATE_SOURCE = [
    "alphagov/notifications-utils notifications_utils/international_billing_rates.yml, commit "
    "4825b66b949b147f3527a703c53a9d42a52f3706 (the per-prefix `billable_units`, later renamed "
    "`rate_multiplier`); read 2026-11-21",
    "notify spec section 9.5 for the current multipliers it pins: +44 Crown dependencies 2, +7 10 "
    "(these override the reference values 1 and 4)",
]
OVERRIDES = {"44": 2, "7": 10}
REFERENCE_RATES = {
    "1": 1, "7": 4, "20": 3, "27": 2, "30": 2, "31": 3, "32": 3, "33": 2, "34": 2, "36": 3, "39": 2, "40": 2,
    "41": 2, "43": 3, "44": 1, "45": 2, "46": 2, "47": 3, "48": 2, "49": 4, "51": 2, "52": 2, "53": 2, "54": 3,
    "55": 2, "56": 1, "57": 1, "58": 2, "60": 1, "61": 2, "62": 2, "63": 1, "64": 3, "65": 1, "66": 2, "81": 3,
    "82": 2, "84": 2, "86": 2, "90": 2, "91": 3, "92": 2, "93": 3, "94": 2, "95": 2, "98": 2, "211": 2, "212": 2,
    "213": 2, "216": 2, "218": 2, "220": 2, "221": 2, "222": 2, "223": 2, "224": 3, "225": 2, "226": 3, "227": 3,
    "228": 2, "229": 3, "230": 2, "231": 2, "232": 2, "233": 2, "234": 4, "235": 3, "236": 3, "237": 2, "238": 3,
    "239": 2, "240": 2, "241": 2, "242": 3, "243": 3, "244": 3, "245": 3, "246": 2, "248": 2, "249": 2, "250": 2,
    "251": 2, "252": 2, "253": 2, "254": 1, "255": 1, "256": 2, "257": 3, "258": 2, "260": 2, "261": 2, "262": 2,
    "263": 1, "264": 2, "265": 2, "266": 2, "267": 2, "268": 2, "269": 2, "291": 4, "297": 3, "298": 2, "299": 2,
    "350": 2, "351": 2, "352": 2, "353": 3, "354": 2, "355": 2, "356": 2, "357": 2, "358": 3, "359": 4, "370": 2,
    "371": 2, "372": 2, "373": 3, "374": 3, "375": 1, "376": 2, "377": 2, "378": 3, "380": 4, "381": 1, "382": 2,
    "383": 4, "385": 2, "386": 2, "387": 2, "389": 1, "420": 4, "421": 2, "423": 1, "500": 2, "501": 3, "502": 3,
    "503": 2, "504": 2, "505": 3, "506": 2, "507": 2, "508": 2, "509": 3, "590": 2, "591": 3, "592": 2, "593": 1,
    "594": 2, "595": 2, "596": 2, "597": 4, "598": 1, "599": 3, "670": 2, "672": 3, "673": 1, "674": 2, "675": 2,
    "676": 2, "677": 1, "678": 2, "679": 2, "680": 3, "681": 4, "682": 3, "683": 4, "685": 3, "686": 4, "687": 3,
    "689": 2, "690": 4, "691": 2, "692": 1, "852": 3, "853": 1, "855": 3, "856": 2, "880": 3, "886": 2, "960": 2,
    "961": 2, "962": 2, "963": 3, "964": 2, "965": 2, "966": 2, "967": 2, "968": 1, "970": 4, "971": 2, "972": 3,
    "973": 3, "974": 1, "975": 2, "976": 2, "977": 2, "992": 2, "993": 2, "994": 2, "995": 2, "996": 2, "998": 2,
    "1242": 2, "1246": 3, "1264": 3, "1268": 3, "1284": 3, "1345": 3, "1441": 3, "1473": 3, "1649": 3, "1664": 3,
    "1684": 3, "1721": 1, "1758": 3, "1767": 3, "1784": 3, "1868": 3, "1869": 3, "1876": 3,
}  # fmt: skip
