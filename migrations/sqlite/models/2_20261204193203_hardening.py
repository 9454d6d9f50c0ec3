from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "sandbox_promise" (
    "key" VARCHAR(64) NOT NULL PRIMARY KEY,
    "body" TEXT NOT NULL,
    "due_at" TIMESTAMP NOT NULL,
    "claimed_until" TIMESTAMP,
    "attempts" INT NOT NULL
) /* A webhook the sandbox promised to send (a delayed payment, refund or dispute */;
CREATE INDEX IF NOT EXISTS "idx_sandbox_pro_due_at_4d2f3f" ON "sandbox_promise" ("due_at");
        ALTER TABLE "payment" ADD "reconcile_next_at" TIMESTAMP;
        ALTER TABLE "payment" ADD "reconcile_gave_up_at" TIMESTAMP;
        ALTER TABLE "payment" ADD "reconcile_attempts" INT NOT NULL DEFAULT 0;
        ALTER TABLE "webhook_event" ADD "body_size" INT NOT NULL DEFAULT 0;
        ALTER TABLE "webhook_event" ADD "next_attempt_at" TIMESTAMP;
        ALTER TABLE "webhook_event" ADD "excerpt" VARCHAR(512) NOT NULL DEFAULT '';
        CREATE INDEX "idx_idempotency_expires_8bff94" ON "idempotency_key" ("expires_at");
        CREATE INDEX "idx_webhook_eve_verifie_dddec7" ON "webhook_event" ("verified", "processed", "next_attempt_at");
        UPDATE "webhook_event" SET "next_attempt_at" = "created_at" WHERE "verified" AND NOT "processed";"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_webhook_eve_verifie_dddec7";
        DROP INDEX IF EXISTS "idx_idempotency_expires_8bff94";
        ALTER TABLE "payment" DROP COLUMN "reconcile_next_at";
        ALTER TABLE "payment" DROP COLUMN "reconcile_gave_up_at";
        ALTER TABLE "payment" DROP COLUMN "reconcile_attempts";
        ALTER TABLE "webhook_event" DROP COLUMN "body_size";
        ALTER TABLE "webhook_event" DROP COLUMN "next_attempt_at";
        ALTER TABLE "webhook_event" DROP COLUMN "excerpt";
        DROP TABLE IF EXISTS "sandbox_promise";"""


MODELS_STATE = (
    "eJztXVtz4jgW/isqXiZdxaQ6pG+T3doqktAzzCQhS0h3zzRdjrGV4I2RGUtuws7Of98j+Y"
    "KvxAYDxtELGElHNt+RJZ2r/mpMLB2b9PDcoFOH4cYJ+qtB1Am/iFc1UUOdThcVvICpI1O0"
    "1UONRpTZqsag+F41KYYiHVPNNqbMsAhv3EbaWLUf8EjVHpGNp5bNsI5Gc6SiB5XhmTo/RG"
    "2CrCkmyOsYjUxLe6TQ+t4hOkXWPTIYRVN1PsGEHfL76pYGNzbIw+Zu4RDjTwcrzHrAbIxt"
    "uNHXrw2vAa/3ula8HhVDb3z7BuUG0fETprw9/zl9VO4NbOoRtKEtVIlyhc2nouz2tnv+Ub"
    "Tk/2+kaJbpTMii9XTOxhYJmjuOoR9yGvEsmGAbnkcP8YE4pulxzC9y/xIUMNvBwaPqiwId"
    "36uOybnZ+CcAo3EmInEn/vHmX96jhZopylVvoNx0BorSSDCfP0KMWV6RZhE+cAzCOFB//e"
    "32uwBElDb4Dc5+afcPjt+9EhBYlD3YolLA1fhbEKpMdUkF6AuUNRtzTBSVJdE+hxpmTHA6"
    "4lHKGPK6R3roX6zCAb9gwYLF++OD68O3AcAb8Af1HjHnHu+XMGDQvezcDNqX1/x2E0r/NA"
    "V+7UGH17RE6TxWeuDyy4KpwZ0ygk7Q5+7gF8R/oj96V504V4N2gz8a/JlUh1kKsWaKqoeG"
    "qV/qowYtF1x3pvqKXI9SSq5Xhes+RiG2e0+/4HrKbJzg/hmsEumcT6eOjQBAch95PlGfFB"
    "OTBzaGn623b5cw/VO7L6ZbaBXj5JVX1XLr/o5gr04sh6S8bafGQ5ewdMQXNDGUDW913TOU"
    "H/hD/PhTq3V8/L71+vjdh7dv3r9/++H1B2grnjhZ9X4JJ067P3evBlEe8IIo8Jpj25ho8y"
    "JDPUxTwwF+nGN4H2cO7uP40IYJk8LjFMB3QbE9dBub2pdFsX33Jge4795kosurovBSpjKH"
    "psPbIc5EQNyFR1KJhhNQL6i3CHXvunNVEG5Bc4L455B87sElfAzJRe9mcIL455CcwVfn/A"
    "S533EJJw9zjt7lYM5RfIVeMIdXRZlj2Tq2UxfSbFElTFOmwLLjOWYd+WQBqCc8FoQ0SiVB"
    "BVC5XH3/mCrzhQT0KMAfLRsbD+Q3PE9MKjFMPVXIdUjU30tgF6WNQHKy1VmgjoiNLEAA/j"
    "cWeqFGH/bj/e7ZoJGcEUqAtuf3U1Ngw7NgBqx8CHN91Uy1dSUylnmN1bJiJUHbZNWkNYmX"
    "qER9EPDw/8Gf2gO+q+PJ1GJ8/wfcaqQoAGMtmsv0gMairfLoNc6jDzQNGHU/UBSiR0CPZg"
    "YbGwQdOBTbTa6ug6EBVK+aogbNxipDBkNT29IdDeupisAy+07VAPIOBF/9LvgP/u/jyr+v"
    "Dfw0NWDi4vqEb1IVKFWB1ZzU9lQpJFWBL5HreVSBkZk5r9geIaqhXqR82d1b8fMC7DWvIb"
    "Qb0anew/2xPbWNNFkmG+UYWQ3RLn8gw8xjObaWbjPI3orFyNbYk3lLWVXwLkfZATVT6Bcn"
    "If31pneVCWlAE19zDY2h/yHToHkk8v1BlIMRWVf9kXpw2f4SH8RnF73TOPS8g9MY9iHBo+"
    "C+J0pZw33P/u5zUra3tLB+NkQiNYnLNYm+oL+mruuW1lrVFRpQEU3XWfvmrH3e2ZWi6xJP"
    "RtimY2PaSFFyhWqbyxRck2i7HLotDscPFNmWiZFBkIpmlv1Ip6qG0QG87h8/IstGvc9Xnf"
    "6rNPVVUfKlGqqAVvqlSWXUnkw7e6qWkMqol8j1PMooPpWnC/DP+zf4tFv0bhCLTMHZ1CU6"
    "QeJrSMTydOKuUvElbjeODHKfXKpkH+wrCmIap5PASgFkCwJI6tAtAdfP4b5qCm78la2SiO"
    "c6kaRId4F3SbZgFziy5JHpprah8XgilT5ihsbwcOgexDAVaQ5l1gTbyCHMMLn7gMFDiAy9"
    "iTQ+dkwTyKClp1RLE/hK63tIhuTuzvWqVni7uzukEh0FZW6kExblNkaPeMq4iEkZnrouEC"
    "BAIoHLD0EcFIUWQ8IrKEAMI0QlVHWFL8YdJrSxSh4w5aSTJqIW4vs4igiGZyMWUh9gsuOu"
    "9QgGvT3PklgTfhORtzQk8kDDrw0fmLQ6zyFUOltI+baiE++eSjpSvn2JXM8j34IQO0rbpm"
    "abqBcU5ci1z8+p2ws+aeWJPmllh5+04qKrjPDZdIQPdUbMYqqZRHhZ+FqYSgawrRzAphtU"
    "Kx47GKbaHviva4U8U5+Kge4RSLxXw/sep+gcluHtEUi8Vxzfxed0OaGvD3tIAVEM/BihHP"
    "Zr4e8re1biQZhY8mE1PuxhYPN15+q8e/VzUeOfR3aCvIshuW53z+EnfPLr/qDbvrj4Xel3"
    "Pt5enXdETbxsSBa1i7Kz9tVZ5+JChEX7l0PS+XLd7fMy72IVE2Mrjw9xK9uHuJXwIR5b0M"
    "/qbpcp5CWoQfbHC7biWo+ksmuCmcr1n0lGZ3s3h2nW8m5e7f1eKJZHjmEyg9BDfttd6JY3"
    "4vRMHU3DlCqOnbLvy9aWxMhWmnAr9qLFJrvXbz7kme6gWfaEJypjEo1qmI6Ni+IdI5N458"
    "Wbb41XWFpCZHJJqfKSEph1V7GbxWglp6vMaXejtwqfo5SSy1Xmsu+oUNBLLkYmneRiy+B3"
    "y9HGhVGNUslYTenRuQuPTul+WKL7YXqKqrB7mHScXQZubKHJga03iZYA7adFT3s53z4Lbn"
    "S9iWALj4Cubi8ulvnNRizkPCNxiir51KP8+Fsfm1mpS5Jp/WsymiMD02B4siZCwmm4C/3U"
    "FSPfpXc9mOqXFDEqmX0vDaLO9xrj5B2bsR5QfdFJnSDaeLiDmKCyQh782euZsAfF8NvliH"
    "2gRJ3SscX4ASmqlx2RNcVZKX86KmEGm4swA2ANc4MZkMrcMAIkdBHoCt4pG2Ed7pqasXED"
    "d3g+xkAGCMgAgWrOLXvqKi4DBF4i1/MECHgzuiJ+J/iebSeM09XQk731+nUuQ+HrJXbC13"
    "Ezob9oJrHO9PsKk9TJ97F19Ob9mw/H794Erl5ByTIPr6Q3F997KGLvkbLjXeJQF6WrE7Rb"
    "dqczDcL3c4VdeqN0kgErM0DGIW06DkmetlL2aSveBqLgaSsRKgnqcoOWPBAknzkg80CQ1C"
    "wl3hgsAdfrRU81RTb6vlbqsJWew0bWk6sHTtPZhaqbS7V2oqGCg5Y59Ha6NQHQkKBBM9tg"
    "DBOe7iM1l4cqMnh42Tx4qhG3u1F6ypIyu86TDYRbwFSmjQP53z9oObcCb9kOMW+4kTf21t"
    "Pd1WRbKBV7L0fFk0exx6ypoRWRDAKCGooFR6083t/QKjuBYSvh+y0AKgKw176G+JZ//sNU"
    "nZuWmrJuZIfyhEhkJE9kliojkiex4hdZSBLE0ku6OtaB5NqhwvZxMk3zucgOUw6R1CY+eS"
    "1ddUJC343A4zsHpQg7Ib+hbEEndHbr8zJOj3BHADESELMQDA8Tw9Q7sQieuzkUie8lMLYt"
    "52GMoAbxbIQzdZ6Ua9bvLjUX/yLRpNt3yimRXh+8kY3vMVeZ4kg6w2bEACqTG0rfhapu1O"
    "or4kjfhbpxPY/vQmhqTkpez6fxCJFXWRBr3LSvzk97X06QdzEkXHF63eEp/fk3T+PxO0B5"
    "9htP3uFeDcnHi9vBoNP/3P4EDUM/hqTf/qPXh4YnyL8aksv21W374gS530Ny1ru8PkH8M7"
    "4U5xKySz8j4CUnbOl3/n3b7XdulPbZoNu74jlYIgXA/37vrHNz45IF1zBObs/OOh2RtyW4"
    "hJHR7oqsLe53eiKXVbheftoWN+NRMY3xgkb6E0h/gsr6E8hMYNUY6S6GACXF9veifEghln"
    "xYjQ/eZkwpnIgzRrgS/hVTIO7sTfC0GwUm/QjRhpIF7S5h+EaODtdMA8PkTbFm40KHhycI"
    "a5icaROAE/zEFNfhoYgRKUYmD7xe3WLkJxXTLL3Q7BKnq9+AL99c6mM2wZSqDylwD2BcL4"
    "c7RFoHxJdpvDpfBstHe6Dwuuhd/ew3j78Csa29Z0tIIP+cyWy7+8ejze5eSovuIBYrNIr9"
    "9nLoFh+6/mYa5vIpPEkK7tnrZRqtXDTXTJiK9ZWsGnFa6WRRHTNG0nplY/hzmmFiZQV3i3"
    "Ti2qghSltGFji5G/vC71RqB/LF2o8X60H9jhVnuhbbo31IzleZ8zJcr+RwPf4a2HxDMZoX"
    "hDVJKfN7yvyeMhyyukF7meGQ6XknZdrUjadNDc2hJYCcM3NqNefaZ+FNrjcyv2fpoEdG5w"
    "7SMu7J2ExxNZBZGbeYlTEyqrLjHnJEeXvBD0XCvHnMAvc8DOKrD2ZjlTXRvW1N0NBpHf3U"
    "QsxqIujEsptoNsbk1SH67IVsg9AJfZKl6Rk3coc8Qd/BTooHe/NYiMgeQEaAywjw/Zug9t"
    "RRPk94hOenVlRuDxFJkV1GfG/PhQGWL2WZx3+G+0KUrA7235gLciuPD3Ir2wm5lUhcYK2A"
    "c4RIovw8ymL7VQThgKCG08VxK09WVWi1BOBEVtWiZ73Kc159fCI7mDLcFqTlpexEiZ7kWT"
    "BRYoRKbt+kxWUXFhdpGti4aUAatTZi1AolO1kT2PxnMlVzqn0+x2dkqalUjk8/wWqa6neR"
    "e3WJ1jfUKM9xPNjlJeJn+KCZwcZIDZ+MYxA0MYhlizIqzs2xBLlqIk2F995gKblvSup3SI"
    "bk7m4MuN3dIY0HkFLoWIVPXoZGczTFRId7uol0KJqajt+CWqb+D3R3Z2OeXBTaQBcG5f35"
    "3aMfkdv1IeoyZBFz7umkaZCRBwaSbnhPdXvN9WK0CT3ztKOeEvqJO61GuoX78BBXnt9nzj"
    "vwg4zlQUJVWf2bUtsstc0yGU+tuZ7icpmwbhc9QEgeHFTs4KDwkyVgzo6GipFtMf/NDpaq"
    "jcRErXCwkDxTSKagqX4KGn+PnUQ4c2CHSWqUaaO0IKOxB1pOOP3mMlorDiRlqs3oKpGPYU"
    "IZo1OdDWNSTuC5Nb6nrayWZWKVZJpGPaIYc0dAtam3xhfOt8vQ017vIsLL0258u3J7edrp"
    "HxwJJkIjg2UsptLeIe0dVVQdL7V3BIdv5XHUX5ydvqaDdeSs9prAvlEfa88jPUXFvvBVz9"
    "aw24s2zyrYL0W2dxszxyZYR+oD/EXKRKZ3zwZxiIbO62P1GBGL/MjT2UAzz+2e+0O33r0R"
    "5115rX+gyM2kmNS5b/ZWUnFdgWm8KRXXL0iFKRXXL5HreRTXMsm01PDtEPpNavjgpaVp5o"
    "J8WfMX1FVGusGz4cMc0DlXTn9Xzm5vBr3LTt9Nkp8oHpLz2+uL7hlMOycouBySj/327fnt"
    "RedqcIIW10PS+QRfSihBfqxgSHr9805f6Xy57vZ5feQn1A5+4c8ivuJ7zN34oksz0o7MSC"
    "/5BIs851Cs8nqUf87IIolhZsRc9uKUSiyTYufJ0SwzBG8vvE5GaNQrQqOeoNoY/gxlq2Uc"
    "S5DKAJildotdeLtXdNiW4+4uIzQ2HqERfstLQLfuSbESU2LhrFibNCIJ9FNMSD5Xsg1Ijt"
    "8iR3zGFNvUIuiRWDPCAx64gYZHNJg8ggJ+GDb69fMgLQKjAKU07lRgrWtK484LUvNL485L"
    "5Hoe446Yo4soFAKCcvRsu005tvnEGwYFZkyMFF3yUi++MNkW/fiCkr1y5EvIbXn8oQwdT6"
    "YW47Yy5RHP13SK6i56gx31Hk5xmZ5R4cE8wZMR7PPGxnRNuC6DjuoKlRsivB5KdZNnY9Kp"
    "l4XYUxeUkx63PgJqhii/3Ry5+4LVJiXvT5ajjdOFb7+quUz+/h5qlEME1w0qcg8gbrE5QS"
    "qXrDUY2fBwyLLh973xxB0uhYMNsu7vm0G+A4qRaUwMJvIbzIBH1ixNVN/AHVJE+ljKW2F/"
    "+iblfCnn78UStqcSn5TzXyLX88j5Rf0G1vIXqBxfN+ww8GiQDD+Y5x2XfNoqA9247vTPhO"
    "+fdzEkH7tfhGsS/4rvMXbjmeTtYhTYsCR5kZ2JIEolY7aTbsjuRjAd1+d9wGuI7EtwA68a"
    "8pv0Aud9g2hT5FDZMEmNRnZpc0ZBONeCcqVFcF/yPHxXTUNXeOb+orv1KKXM9FCdzXlSJn"
    "N5Batlmi0uD5sDUsnnKvNZZvSQGT0q+SbJjB57mtFjSybGaq4J2zUEfcajsWU9Zp6VGKlv"
    "LjMJzdyWRc5KhF7tOTLICGRqHXmBVMjrqIkog3dNRyN8D988YbRB0dS2NExp2rmIa/XG82"
    "S3EfRgAHA6gn9niO4eMZ5SxPNrz8awnKGRpc/Rwd0dH/78+u7uFT9i0dDGwjvUxgyI/mON"
    "0FS1Yf8/JCKJyCFqQ9V/sAZjUaQTcbtVCcKTKZujcH/CDKUi8S9EdhFuUj6BJti2LRvqD9"
    "wb8TDdV02eNpvTKdT4Lw6I6diyWZPnCSeCP5z6ScP2lN3d/QPqNdMAJiHqpf6e4Ad1NGeY"
    "Iut+SBxCYYLjUFm6AWUThzJELAbQIdEZs9C9YZriD+sGfTyE7gl+YorKGP8/8C0yhYujJ5"
    "E6JDPVYPw+Bz6+TdHfHDME4wmeRX+1QBzogKV++pVsS5zHYF4vhpziH0AZObMy4LCw1y0s"
    "PN/4+ZX+44ipJNww9m8KHmwpjXrSqCfNO9KoJ7m+ilEvNK8XDMGuusVpRcVw+ValYL0sgH"
    "GYpoYgbyS+3cVMwFQYaZ+qBkk3YsO59SHPeG59yB7QvC4WN+xtn5M4Z2c3CdPUYkRvO7lJ"
    "IHcUMIpEaKRlJK7g86S0QtPFgqR2c8XbozypkKBV5lwh6mLWp5DUV0BjHREWZfRKfqV1RL"
    "IuAHiETiK+CuIriE5xWml7q46slGJ7c3VURdwSwiRyAY6/OnHNX8G3J4VcvkBVfoGEUr2I"
    "1BAQ1MEDbRsSQ4FA1o0augIzbJqVK2yjXWLiijR7Pu6JIMt+UAlIOzYPQppgm5+Oyk6E5Y"
    "RhAtdwqTJkzYgwRvFjZ2nTP4qV23IoZtx0QlNinsruXaYw2cZ7Ja0gUh8urSAvmut5rCDU"
    "dB6KaIH89rVLYFJ+YJM8s3bTZ9aKZ1ZWCfFIo92iVvP25nw7is2Sgz1gswd/W1c8Q2iKOu"
    "DXm95VhkCTQhtfKwyNof8h06Ab0w+E9mcjxzBhV0oP+f12sUXjWC0XfeJSTmz+5x3EjSX3"
    "GCujtBQzmYqaEIXU08T1NAzepmJwhigknIkjbC1oNDGIwwqFOMXJtgfs0ds9QVZzKLNANv"
    "eT3CiqaVqzwsaQZd3ICIoNpFKTacFCTJFpwdYCaNvZwPYZJDd+oByogqiFWuLlKXTXRMrt"
    "pa4geXnK1gQplBKtLiBt0tRyoxJ9ZD3B0JoYNNXeEmvRXGZ0oW5bZRpqnCPlnBf3I4whXh"
    "fI60LnESw89gUdqDzuRJ1DkTf9NL3jfLlFRTfoFHa2SctLiZ0PieUwDXZ2r5rIDZnjAUIa"
    "5l0wHljjBQXxqBi4GZcskZghm8iL0hFBNm44k6DJZ8r52tChwdLQlkdcSHXjNZcKyAwFZL"
    "Zdp6jjqnRaXcNp1Rv2CbiXm1IWVDU0o+yv2SRpLdNMFZiwYtqJBLH03akyr6XzWwm6qoq4"
    "57SxbWjjtL2iV7N0j6gu2jy3NcwGt2T/l8wxmOr+kjL6vJmjutukUjSl2dui7yC3pR5YnL"
    "0HDZHUYnO0hRg1/lIVQNhrXkN0j3LZwo+W2MKPkrZwuCNLPWIx2x4bItm+GXY3O4/SDK47"
    "Xcz+/j8NUJjN"
)
