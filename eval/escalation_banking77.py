"""The BANKING77 half of the escalation test split: real customer wording, labelled by hand.

Why: the tune split (eval/data/escalation/tune.jsonl) was written by reading the sample bank's
documents, in their voice. This half of the test split is real customers' messages to a bank
from BANKING77 (Casanueva et al., 2020, PolyAI; CC BY 4.0, kb/data/banking77/LICENSE), so the
rules are measured on wording nobody here wrote. How the messages were chosen (from
kb/data/banking77/test.csv, before any test result was seen):

- fraud: 24 drawn at random (seed 77) from the intents card_payment_not_recognised,
  cash_withdrawal_not_recognised, compromised_card and direct_debit_payment_not_recognised,
  plus 6 with "someone" from the same test file (mostly compromised_card);
- complaint: every message matching a dissatisfaction word list (18);
- hard negatives: 8 messages with "again", "already", "several times", "keep" (repeat words
  that are not a repeat contact), 4 with "someone" that ask no person for anything, and 22
  drawn at random (seed 2077) from the other intents;
- conversation signals: 18 pairs of messages, 12 from one intent (seed 2077) and 6 from two
  different intents, asked one after the other with a chatbot's fallback between them (and a
  second fallback after every other pair). The fallback wordings are not those of the tune
  split.

Labels were given by reading each message, by these rules: `fraud_scam` when the customer
reports or suspects a payment, withdrawal or access they did not make or allow (a purely
hypothetical "what should I do if..." is not labelled); `complaint` when they express
dissatisfaction with the bank's own service, product, fees or decisions (unhappiness with a
merchant's goods is not); `repeat_contact` only when they say they contacted us before;
`repeated_question` when the second message asks the same thing as the first (same intent is
not enough: "Why did I get blocked?" after "How do I reset my PIN?" is a new question);
`bot_failure` when the bot gave two fallbacks.

`python -m eval.escalation_banking77` rewrites eval/data/escalation/test-banking77.jsonl and
fresh-banking77.jsonl.

The fresh sample: after the first test run, the rules were revised by looking at the test
errors, so the test split no longer measures them blind. A second sample was then drawn from
BANKING77's train.csv (../shared/data/banking77/, seed 11: 16 from the four fraud intents, 14
dissatisfaction-word matches, 12 from other intents, 10 message pairs with yet other chatbot
fallbacks) and labelled by the same rules before the revised rules were run on it. The same again after
the second revision: fresh2-banking77.jsonl (seed 12, 46 transcripts), and after the third:
fresh3-banking77.jsonl (seed 13, 44 transcripts).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "kb" / "data" / "banking77" / "test.csv"
OUTPUT = ROOT / "eval" / "data" / "escalation" / "test-banking77.jsonl"
FRESH_SOURCE = ROOT.parent / "shared" / "data" / "banking77" / "train.csv"
FRESH_OUTPUT = ROOT / "eval" / "data" / "escalation" / "fresh-banking77.jsonl"
FRESH_CREDIT = "BANKING77 train.csv (Casanueva et al., 2020, PolyAI), CC BY 4.0"
CREDIT = "BANKING77 test.csv (Casanueva et al., 2020, PolyAI), CC BY 4.0"

F, C = "fraud_scam", "complaint"

SINGLE: list[tuple[str, tuple[str, ...]]] = [
    # fraud intents, random seed 77
    ("I don't recognize a debit payment that was made and would like to find out about the payment.", (F,)),
    ("I saw a payment i did not do", (F,)),
    ("I understand that this is extremely late. After going over my transactions for the last couple of months I noticed a large charge that I'm sure I did not make. Is there anyway I can still dispute this?", (F,)),
    ("The app is showing an ATM withdrawl that I didn't make.", (F,)),
    ("I checked the app and saw an extra cash withdrawal that I didn't authorize", (F,)),
    ("I have a payment I didn't do", (F,)),
    ("im so mad right now. theres several charges that I think my x boyfriend made on my card. the companys on the website wouldn't refund me my money, they told me to contact my bank. DO something please.", (F,)),
    ("Can I dispute a payment even if I notice it several weeks after it was made?", ()),
    ("My account has a weird withdrawal.", (F,)),
    ("There's a Direct Debit payment in my account that I didn't make", (F,)),
    ("What should I do to get transactions off of my account if I didn't make them?  My card must have been compromised and I need to freeze it asap!", (F,)),
    ("There is a direct debit that's not mine.", (F,)),
    ("someone is using my account", (F,)),
    ("What do I do if I notice a strange withdrawl in my statement?", ()),
    ("Unknown direct deposit", ()),
    ("Why is there a random withdrawal in my app?", (F,)),
    ("How do I freeze my bank card, as there has been a strange withdrawal?", (F,)),
    ("I think someone else is using my card.  There are transactions I didn't make.", (F,)),
    ("In my statement there is a payment that is I do not recognize", (F,)),
    ("There is a strange payment on my statement. What should I do?", (F,)),
    ("There's a recent charge on my card that I know I didn't make because I've never seen the name before. Can we investigate this?", (F,)),
    ("Payment i did not do", (F,)),
    ("How do I freeze my account?", ()),
    ("I have a strange cash withdrawal in my statement", (F,)),
    # "someone"
    ("I think I lost my card . I dont know how long it has been missing. Can you see if maybe someone else has been using it?", (F,)),
    ("Someone has my card number, freeze my account.", (F,)),
    ("I'm not certain, but someone may be using my card.", (F,)),
    ("What should I do if I think that someone else may be using my card.", ()),
    ("Someone I don't know has used my card without permission.", (F,)),
    ("My card is being used online to make a bunch of purchases! Someone else is using it fraudulently. Can you help me freeze it?", (F,)),
    ("Can someone assist me with the details explaining which fiat currencies that you support?", ()),
    ("Can someone assist me by explaining why my card is not working?", ()),
    ("Can someone please assist me with finding my nearest ATM?", ()),
    ("Someone stole my card. I need to report it stolen. I made a police report already, but how do I report it with you?", ()),
    # dissatisfaction words: every match in test.csv
    ("Im very upset as my top-up was canceled and I have no idea why.", (C,)),
    ("I sent you a cheque couple days ago, nothing happened to my account yet! This is unacceptable, where is my money??", (C,)),
    ("This is very frustrating. I can't get my card to work on any ATM I try and I've tried 3 of them so far. What's going on? Can you please fix this issue immediately?", (C,)),
    ("I am unhappy with my purchase, how do I cancel the order?", ()),
    ("I am not Happy with this product can i get a refund?", ()),
    ("I am chatting about an order from a long while back.  I never got it to this day and am deeply upset by this!  I want all of my money back!  I just can not accept paying for something I never got.", ()),
    ("It's been a week and I have done everything that I was asked to do and still nothing. I have contacted the seller and have not gotten a response. Please understand my frustration and put the money back in my account.", (C,)),
    ("The new card that was just sent to me was declined multiple times yesterday when I tried to use it at a restaurant to pay for my dinner.  I am really disappointed  and embarrassed that my card was denied when I tried to use it to pay for my friend's birthday dinner.", (C,)),
    ("unhappy with you, how to delete account", (C,)),
    ("This company is terrible! Can you delete my account?", (C,)),
    ("Please delete my account. I am not happy with the service from your company.", (C,)),
    ("I am sick of this damn company and want to close out my account.", (C,)),
    ("Your service is terrible,.  Delete my account,", (C,)),
    ("I am extremely unhappy with this app and want to get rid of my account?", (C,)),
    ("I want to delete my account. I'm unhappy with the service you're providing.", (C,)),
    ("I purchased some makeup through a site in China, and I was under the impression that when I make transfers there is no fee.  Why am I seeing this fee now?  I am not happy about this at all.", (C,)),
    ("I withdrew some cash out of the ATM over the holiday. It seems that I was charged some outrageous fees. I would not have done that had I been aware of these outrageous charges!", (C,)),
    ("I used the ATM machine to get money out for Holiday shopping and saw the outrageous charges. Why is that? I would not have used the ATM if I had known!", (C,)),
    # repeat words that are not a repeat contact
    ("my card was not in the mail again can you advise?", ()),
    ("I have tried to use my card several times and it does not work.", ()),
    ("I need your help to check my account, please! My card keeps being declined at the ATM, and I've already tried two different ones!", ()),
    ("I am getting continuous failure for all my transfers. I have cross checked each recipient detail again and again and everything is correct.", ()),
    ("I received cash from the ATM earlier, but this shows up as pending in the app.  I've got the cash already.  How can this be still pending?", ()),
    ("do I need to verify my identity every time I log into my account?", ()),
    ("Good morning. I tried to make a purchase with my credit card last night and again this morning. Both times it was declined. Can you investigate?", ()),
    ("I've already topped up, but I cannot see the funds being available. What happened?", ()),
    # random, other intents (seed 2077)
    ("Help me transfer money to my credit card.", ()),
    ("Why was a charged a fee for using the card?", ()),
    ("How can I fix a problem where my virtual card is rejected?", ()),
    ("Where can I use this card at an ATM?", ()),
    ("I keep checking my bank statements but I don't see a refund that I've requested from a seller. Can you ensure that I receive the refund from the seller?", ()),
    ("I bought something but now I would like a refund. How do I do that?", ()),
    ("My passcode doesn't work", ()),
    ("Why does it say pending cash withdrawal on my statement?", ()),
    ("I do not know my passcode.", ()),
    ("How can I request cash back? The ATM just gave me the wrong amount, the app shows the amount that I've been actually charged though...", ()),
    ("How come my disposable virtual card used to pay for a gym subscription got rejected?", ()),
    ("I need some help with identity verification.", ()),
    ("I made a bank transfer and my account balance did not show it.", ()),
    ("Please help me as i am continuously facing the issue in transferring money to my friends, as all my transactions are getting failed.", ()),
    ("How do I change GBP to AUD?", ()),
    ("Hi,I tried to get some money out but the machine was not working .The transaction still seems in progress! Can you please check what's going on.I don't want to be charged for money that I did not received.", ()),
    ("How do I use the top up app with my apple watch?", ()),
    ("Do you have to order a new card before your current card expires?", ()),
    ("What should I do if I forgot my passcode?", ()),
    ("Topping up my card is not working because I believe the top up is pending", ()),
    ("Top up on my Google Pay isn't working.", ()),
    ("Can I use my Apple Watch to to top up?", ()),
]  # fmt: skip

# (first message, second message, same question?, labels from the words themselves)
PAIRS: list[tuple[str, str, bool, tuple[str, ...]]] = [
    ("I need your help to check my account, please! My card keeps being declined at the ATM, and I've already tried two different ones!", "I can't get money out of the ATM", True, ()),
    ("Can I exchange currencies with my account?", "If I need GBP instead of AUD what do I do?", True, ()),
    ("Help me reset the passcode.", "Tell me how to reset the passcode.", True, ()),
    ("I'm trying to transfer money to another country. It's just pending and not sending. My account details are correct. Please help me.", "My transfer is still coming up as pending.", True, ()),
    ("Is it possible to receive a Visa and a MasterCard?", "I would prefer a visa card", False, ()),
    ("I would appreciate it if I could get an item refunded", "I bought something but now I would like a refund. How do I do that?", True, ()),
    ("Is it possible to get a transfer from SWIFT?", "Should I expect to be charged for topping up by transfer?", False, ()),
    ("When traveling, can I auto top-up my card at certain times?", "How do I enable auto-top up?", False, ()),
    ("I accidentally blocked my PIN. How do I reset it?", "Why did I get blocked?", False, ()),
    ("Card payment declined?", "Why was a transaction on my card declined?", True, ()),
    ("How do I link this new card?", "How do I add the card to my account?", True, ()),
    ("My card was denied at an ATM earlier today but the transaction is pending. Please cancel it as I did not receive my money.", "Why is a transaction showing as pending when I recieved cash from an ATM?", False, ()),
    ("How do I go about activating my new card?", "I don't understand how to top up my account, can you please explain the process?", False, ()),
    ("How do I get an actual card?", "Someone else may be using my card.  There are transactions I don't recognize.", False, (F,)),
    ("When I made a transfer, there was a fee.  Why?", "I need to get some more physical cards.", False, ()),
    ("Why is the exchange rate wrong when I purchase something abroad?", "Can you help my fix my contactless?", False, ()),
    ("My address has updated and I need to change it.", "Do I have to do an identity check?", False, ()),
    ("Even though it's late, I wanted to see about disputing a charge. I was just looking through my transactions over the past couple of months and noticed a pretty large amount that was not completed by me. Is this possibly something I can still do.", "For what reason would a top up be reverted and returned to my account?", False, (F,)),
]  # fmt: skip

FRESH_SINGLE: list[tuple[str, tuple[str, ...]]] = [
    ("I just got an email in confirming my purchase with my card. I login to the mobile app on the card and found out there are several purchase were made without me aware of it. Evidently someone had stole my card information and made these fraudulent purchase. I need the transaction to be reverse and have my card suspended.", (F,)),
    ("I don't recognize this debit transaction in my billing statement?", (F,)),
    ("How do I report possible fraudulent activity on my account?", (F,)),
    ("Someone else made a Direct Debit transaction on my account", (F,)),
    ("Some cash has been withdrawn but I didn't do it.", (F,)),
    ("Someone has a copy of my card !! I definitely still have it here but someone just made a 500£ cash withdrawal, HELP!", (F,)),
    ("There was a strange transaction made on my account a couple weeks ago by a seller I don't recognize. May you please check on this transaction for me.", (F,)),
    ("There are a couple of payments with my card shown in the app that I really didn't make myself. What's going on with this?", (F,)),
    ("Just today there was a purchase on my card that wasn't done by me. Can this be reversed and my card be frozen? I can't have this continue!", (F,)),
    ("There is a debit paymet that I don't recognize.", (F,)),
    ("I just saw some charges on my card from the past days that I dont recognize, I need to freeze the card asap! Will I be able to get my money back?", (F,)),
    ("I was the victim of someone stealing my wallet.  My card is being used and it isn't me.  What should I do?", (F,)),
    ("How can I dispute a direct debit charge on my account?", ()),
    ("hey, I think someone stole my card numbers. There is a purchase showing up on my app from a store pretty far away from me.. I really need that money back to pay my rent.", (F,)),
    ("What is this card payment, I do not recognize it.", (F,)),
    ("I need help with some transactions in my account that I dont recognize or remember purchasing. Im not sure if the name is just different or what. Should my card be put on hold while the issue gets figured out to be safe or is it ok?", (F,)),
    ("this verifying the top up is annoying", (C,)),
    ("So I've been using my account frequently to manage payments for my vacation house in a different country, and now I'm getting hit with ridiculously high fees! What's with that? Ought not I be rewarded as a frequent user?", (C,)),
    ("I am not happy with your service and request that my account be terminated!", (C,)),
    ("This is terrible, i want to delete my account", (C,)),
    ("I contacted a seller about a refund last week but he still hasn't returned my money. I am frustrated and need these funds. Please help me get my money back.", ()),
    ("While on vacation I used an ATM to get cash and was overcharged. These charges are ridiculous and had I known about them I would have never used it.", (C,)),
    ("I am confused about your fee structure and was disappointed to see a fee for my transfer.", (C,)),
    ("I am unhappy with an item I bought. How do I get a refund?", ()),
    ("I did all that was asked of me and I am rather frustrated. I don't understand why you just won't credit me my money back. I have contacted the seller and nothing has been done. It's been a week!", (C,)),
    ("for god sake, just delete my account i am sick of this", (C,)),
    ("your company is awful, i would like to delete my account please", (C,)),
    ("I have made several unsuccessful attempts to make a transfer.  I'm getting frustrated at getting error messages and it not going through.", (C,)),
    ("I would like to close my account, as I'm not happy.", (C,)),
    ("This exchange rate you use is awful! Please tell me this is a mistake and not the official interbank exchange rate!", (C,)),
    ("My payment has been declined several times.  Can you help me?", ()),
    ("what can I do if I got my American Express in Apple Bay but top up is not working?", ()),
    ("I finally got my card.  Now I want to link it.  Is that something you have to do or can I do that?", ()),
    ("I'm still waiting for my top-up to go through", ()),
    ("Please help me change my PIN.", ()),
    ("What should I do if the atm eats my card?", ()),
    ("Why did it cost money to transfer funds?", ()),
    ("Can I have more disposable cards?", ()),
    ("Do any of your machines provide cash from my home country? I don't have any money on me and I'm on holiday so I'm concerned. Also, will I be charged anything to do this?", ()),
    ("I received a refund, however I cannot see it in my account", ()),
    ("What do you need for the identity verification", ()),
    ("I forgot my PIN number.", ()),
]  # fmt: skip

FRESH_PAIRS: list[tuple[str, str, bool, tuple[str, ...]]] = [
    ("My card was stolen and used to make several purchases. Please freeze my card so no one can use it.", "The card has suffered a security breach.", True, (F,)),
    ("What is going on with it saying my card payment was declined?", "My card would not work at a shop.", True, ()),
    ("I haven't received my virtual card yet, do yo know why?", "Can you give me a virtual card?", False, ()),
    ("At what places accept my card?", "Can i use this card at any store?", True, ()),
    ("My order hasn't shown up yet, what can I do?", "Am I able to get a refund for a purchase?", False, ()),
    ("My account was charged a debit payment I don't recognize.", "There was a strange transaction made on my account a couple weeks ago by a seller I don't recognize. May you please check on this transaction for me.", True, (F,)),
    ("wheres my pin", "I was wondering how long does it take for a payment to go thru? It seems my last payment is stuck and hasn't moved.", False, ()),
    ("I tried to do a transfer and it hasn't worked!", "I topped up but it isn't in my account", False, ()),
    ("Why do you guys need to verify my identity?", "My balance doesn't include my latest transfer", False, ()),
    ("I sent payment with EU transfer and they still haven't received it. How long does it take?", "I transferred some money to my mom 2 days ago and she has not received it. I double checked the information and it looks right. Can you help me?", True, ()),
]  # fmt: skip

FRESH_FALLBACKS = (
    "Sorry, I'm having trouble understanding your request.",
    "I didn't find a match for that. Can you tell me more?",
    "That one's beyond me, I'm afraid.",
    "Hmm, I couldn't work out what you need.",
)

# Drawn after the second revision (seed 12, train.csv, excluding the first fresh sample) and
# labelled before the rules were run on it; yet other chatbot fallbacks.
FRESH2_SINGLE: list[tuple[str, tuple[str, ...]]] = [
    ("There's a payment with my card that I didn't perform. I don't know that name shown.", (F,)),
    ("I am seeing in the App a payment that its not mine", (F,)),
    ("I just lost my wallet and I think someone is using my card to withdraw my money. Can you please cancel or freeze my card?!!", (F,)),
    ("My account shows that I made a cash withdrawal but I cannot remember doing so!", (F,)),
    ("i do not know what this charge is for", (F,)),
    ("There is  a charge I don't recognize.", (F,)),
    ("There's a payment in the app that I didn't authorize.", (F,)),
    ("Can I dispute a debit payment that I am seeing that I didn't make from a couple of months ago?", (F,)),
    ("My app says I made a withdrawal, but I didn't.", (F,)),
    ("My app is displaying a payment I didn't make", (F,)),
    ("I see money go out that I didn't withdraw.", (F,)),
    ("Is there any way to know how the transaction got on my account?", (F,)),
    ("There is a cash withdrawal from an ATM listed but I don't remember making this withdrawal.", (F,)),
    ("My statement shows a strange direct debit.", (F,)),
    ("I'm pretty frustrated about a pound charge that keeps  showing up in my account statement. It's listed in the app as \"pending\", it never changes, and now I'm thinking someone's hacked my account!", (C, F)),
    ("I'm upset because I got charged a ridiculous fee when making an ATM withdrawal over a holiday weekend.  It didn't notify me beforehand either or I wouldn't have ever done it.", (C,)),
    ("I am angry that I got charged for using my card.", (C,)),
    ("unhappy with service need to delete account", (C,)),
    ("I hate this ATM, it charged me an extra fee, Why did it charge?", (C,)),
    ("I am not happy with your company. Please delete my account asap.", (C,)),
    ("how to delete account, not happy", (C,)),
    ("I hate this company! Can you delete my account?", (C,)),
    ("Why is the exchange rate terrible?  That can't be close to the actual interbank rate.", (C,)),
    ("I made a terrible mistake when typing in my account number.  I accidently sent money to the wrong account.  I noticed the app won't allow me to void the transaction.  Can someone help me with this immediately?", ()),
    ("I would like to delete my account. I'm not happy with the service you're providing", (C,)),
    ("This is frustrating, I'm at work and my transfers are not going through. I keep getting an error message, I do not have time for this.", (C,)),
    ("I thought transfers were free of charge.  I bought something abroad and got charged a ridiculous fee. How do I get this problem fixed.", (C,)),
    ("I am very upset that i went to use my new card today and it kept getting declined. Why is this happening and what do I do to not have it declined?", (C,)),
    ("I was charged a fee with my cash withdrawal that I shouldn't have been charged.", (C,)),
    ("How do I use a card to top up?", ()),
    ("Can you  tell me how to get AUD not GBP?", ()),
    ("What do I do to verify a top-up?", ()),
    ("The exchange rate was incorrect for an item I bought.", ()),
    ("Can I order a second card?", ()),
    ("What steps do I have to take to change my PIN?", ()),
    ("A payment is showing twice. Why is that?", ()),
    ("I would like to receive instructions showing the verification process for top up cards..", ()),
    ("is there a reason that my payment didnt go through", ()),
]  # fmt: skip

FRESH2_PAIRS: list[tuple[str, str, bool, tuple[str, ...]]] = [
    ("Where can I get a new passcode?", "What should I do if my passcode won't work?", True, ()),
    ("Is there somewhere I can send a check to add to my account?", "Can I use cash to top up", False, ()),
    ("The top-up verification code is not visible.", "how do I find the code to verify the top up card?", True, ()),
    ("Is it possible to get one of your cards in the European Union?", "Do you have to be in the UK to get a card?", True, ()),
    ("Explain why my top up would be reverted.", "What happened to my top-up? I think it was cancelled.", True, ()),
    ("How does the exchange rate work on this app?", "I noticed that there's a payment on my card that's pending.", False, ()),
    ("My Virtual card was rejected for a car rental. Why?", "Why is the exchange rate wrong for my cash withdrawal?", False, ()),
    ("How can it be that my Card is not functioning anymore?", "What businesses can I use this card with?", False, ()),
]  # fmt: skip

FRESH2_FALLBACKS = (
    "I'm sorry, I can't answer that one.",
    "My apologies, I haven't been trained on that topic yet.",
    "I didn't recognise that question, sorry.",
    "Hmm, that's not something I know about.",
)

# Drawn after the third revision (seed 13, train.csv, excluding both earlier fresh samples) and
# labelled before the rules were run on it; yet other chatbot fallbacks.
FRESH3_SINGLE: list[tuple[str, tuple[str, ...]]] = [
    ("A random charge got added to my card", (F,)),
    ("I don't know where a direct debit payment came from", (F,)),
    ("Hello, i just checked my statement and there seems to be a payment from my card that I have never seen before.", (F,)),
    ("Is there a strict timeline regarding disputing transactions made on my account? I just noticed a fraudulent charge on a statement from a couple months ago.", (F,)),
    ("I got a notice from my app that I withdrew cash but I don't remember doing so. How do I fix this?", (F,)),
    ("There are charges on my card that I haven't purchased.", (F,)),
    ("How can I dispute a debit transaction?", ()),
    ("There's a payment in the app I don't recognize.", (F,)),
    ("Hello, Please look into this matter urgently. As i have lost my wallet and i can see one withdrawal, now i do not want to loose more money.", (F,)),
    ("Hello, I noticed there is a payment from my card to a business that I am not familiar with. I definitely did not make this payment.", (F,)),
    ("what is this charge on my card?", (F,)),
    ("I do not recognize the card payment.", (F,)),
    ("I see in the app some cash was withdrawn, but it's not mine.", (F,)),
    ("The app is showing a payment I never made.", (F,)),
    ("I'm not happy with the services I'm getting with this company. Can you please delete my account?", (C,)),
    ("I'm not happy, I want to close my account.", (C,)),
    ("When I used one of the ATMs in the city centre today, I tried to take out some money, but for whatever reason, the machine declined my card. Just checked it out in my account and that amount is still showing as pending! Is there any way that you can cancel this transaction, because I did not receive any money whatsoever from the ATM", ()),
    ("I am looking to delete my account. I'm not happy with the service provided by you.", (C,)),
    ("totally unacceptable.  I'm stranded with no cash because the ATM wouldn't give me any money!", (C,)),
    ("The exchange rate you're using is terrible - this can't be the official interbank exchange rate, can it?", (C,)),
    ("I am upset with your service.  Please delete my account.", (C,)),
    ("My card isn't working at all, I need assistance. It's really frustrating.", (C,)),
    ("I'd like to discuss an order I placed quite a long time ago. I have yet to receive it and am growing upset.  I want a refund as I now refuse to pay for the product.", ()),
    ("Hi, Today i have tried to make payment by my new card, but payment got declined many times. I am very disappointed, please look into this.", (C,)),
    ("I just recently got a new beach condo in Bora Bora, and to furnish it I used this account a lot from overseas. It's upsetting, being a long-time customer of yours, that I saw extra fees on my account from my currency transfer. Is this what I should expect from you in the future?", (C,)),
    ("I goofed up and used the wrong account.  Please help.", ()),
    ("Please tell me how I can receive a physical card", ()),
    ("Who charged me a fee for paying by card?", ()),
    ("My card is stuck in the ATM?", ()),
    ("Can I activate my card with the app?", ()),
    ("I need my card to be activated right now.", ()),
    ("Is there any amount in which I would get cut off from topping up?", ()),
    ("What's up with verifying top-ups?", ()),
    ("How do I return something for a full refund?", ()),
    ("My wallet doesn't show my recent top up.", ()),
    ("Why is my card not working anymore?", ()),
]  # fmt: skip

FRESH3_PAIRS: list[tuple[str, str, bool, tuple[str, ...]]] = [
    ("Is my card activated?", "What is the process for activating my card and using it?", False, ()),
    ("Why didn't my friend's transaction arrive yet?", "A transaction I did to my friend hasn't arrived yet, why?", True, ()),
    ("When does my transfer from the US arrive in my account?", "When will my money be in my account?", True, ()),
    ("I've got a weird problem: I purchased something a week or maybe it was two weeks ago, and the funds have come back into my account! Can you explain this?", "Did a card payment that I made get cancelled?", True, ()),
    ("People are using my debit card - help!", "How do I dispute a debit that I didn't make?", True, (F,)),
    ("The company is no good, please terminate my account.", "How do I deactivate a stolen card?", False, (C,)),
    ("I am concerned that I am being doubled charged for several items purchased in the past week.  Please review my statement and correct.", "I made a transfer from France a couple days ago and don't see the transaction yet. How long does an international transfer take?", False, ()),
    ("I can't remember my password.", "Why aren't my payment funds available to me?", False, ()),
]  # fmt: skip

FRESH3_FALLBACKS = (
    "Sorry! I'm still learning and can't answer that.",
    "Hmm, could you put that differently?",
    "I'm not quite sure what you're after.",
    "That's outside what I can do right now.",
)

GREETINGS = (
    [
        {
            "speaker": "bot",
            "text": "Hi! I'm Pine, the Harbour & Pine assistant. What can I help you with today?",
        }
    ],
    [{"speaker": "agent", "text": "Harbour and Pine, you're speaking with Alex. How can I help?"}],
    [],
)
FALLBACKS = (
    "Hmm, I'm not sure I follow. Could you try asking another way?",
    "Sorry, that's not something I can help with yet.",
    "Oops! I didn't quite catch that.",
    "I'm sorry, I don't know the answer to that one.",
    "Apologies, I couldn't find anything about that. Could you use different words?",
    "I'm afraid I don't have an answer for that right now.",
)


def build(
    single: list[tuple[str, tuple[str, ...]]] = SINGLE,
    pairs: list[tuple[str, str, bool, tuple[str, ...]]] = PAIRS,
    fallbacks: tuple[str, ...] = FALLBACKS,
    source: Path = SOURCE,
    credit: str = CREDIT,
    prefix: str = "test-b77",
) -> list[dict]:  # type: ignore[type-arg]
    known = {row["text"] for row in csv.DictReader(source.open(encoding="utf-8"))}
    records: list[dict] = []  # type: ignore[type-arg]
    for text, labels in single:
        if text not in known:
            raise ValueError(f"not a BANKING77 message: {text!r}")
        turns = [*GREETINGS[len(records) % 3], {"speaker": "customer", "text": text}]
        records.append({"labels": sorted(labels), "turns": turns})
    for index, (first, second, same, labels) in enumerate(pairs):
        for text in (first, second):
            if text not in known:
                raise ValueError(f"not a BANKING77 message: {text!r}")
        two_failures = index % 2 == 0
        turns = [
            {"speaker": "customer", "text": first},
            {"speaker": "bot", "text": fallbacks[index % len(fallbacks)]},
            {"speaker": "customer", "text": second},
        ]
        if two_failures:
            turns.append({"speaker": "bot", "text": fallbacks[(index + 3) % len(fallbacks)]})
        found = set(labels) | ({"repeated_question"} if same else set())
        found |= {"bot_failure"} if two_failures else set()
        records.append({"labels": sorted(found), "turns": turns})
    return [
        {"id": f"{prefix}-{n:03d}", "lang": "en", "source": credit, **record}
        for n, record in enumerate(records, 1)
    ]


def _write(records: list[dict], output: Path) -> None:  # type: ignore[type-arg]
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{len(records)} transcripts -> {output.relative_to(ROOT)}")


def main() -> None:
    _write(build(), OUTPUT)
    fresh = build(
        FRESH_SINGLE, FRESH_PAIRS, FRESH_FALLBACKS, FRESH_SOURCE, FRESH_CREDIT, "fresh-b77"
    )
    _write(fresh, FRESH_OUTPUT)
    fresh2 = build(
        FRESH2_SINGLE, FRESH2_PAIRS, FRESH2_FALLBACKS, FRESH_SOURCE, FRESH_CREDIT, "fresh2-b77"
    )
    _write(fresh2, FRESH_OUTPUT.with_name("fresh2-banking77.jsonl"))
    fresh3 = build(
        FRESH3_SINGLE, FRESH3_PAIRS, FRESH3_FALLBACKS, FRESH_SOURCE, FRESH_CREDIT, "fresh3-b77"
    )
    _write(fresh3, FRESH_OUTPUT.with_name("fresh3-banking77.jsonl"))


if __name__ == "__main__":
    main()
